import { redactText } from '../shell/secret.js';
import type { CollectedOutcome, CollectedRun } from './collector.js';

/**
 * `--junit FILE`: one <testsuite> per host, one <testcase> per task result on it (classname =
 * play, name = task), so CI test-report views list what failed where. A failed task is a
 * <failure>, an unreachable host an <error>, a skipped task <skipped/>; an ignored failure
 * passes, with what happened in <system-out>.
 */
export interface JunitOptions {
  /** The <testsuites name>; default `drover`. */
  name?: string;
  /** Clear-text secret values, scrubbed from all text as a second line of defence. */
  secrets?: Iterable<string>;
}

export function renderJunit(run: CollectedRun, options: JunitOptions = {}): string {
  const secrets = [...(options.secrets ?? [])];
  const text = (s: string): string => escapeXml(redactText(s, secrets));
  const byHost = new Map<string, CollectedOutcome[]>(run.hosts.map((h) => [h, []]));
  for (const o of run.outcomes) {
    const list = byHost.get(o.host) ?? [];
    byHost.set(o.host, list);
    list.push(o);
  }

  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites: string[] = [];
  let id = 0;
  for (const [host, outcomes] of byHost) {
    const counts = {
      tests: outcomes.length,
      failures: outcomes.filter((o) => o.status === 'failed' && !o.ignoredError).length,
      errors: outcomes.filter((o) => o.status === 'unreachable').length,
      skipped: outcomes.filter((o) => o.status === 'skipped').length,
    };
    totals.tests += counts.tests;
    totals.failures += counts.failures;
    totals.errors += counts.errors;
    totals.skipped += counts.skipped;
    const seconds = outcomes.reduce((ms, o) => ms + o.durationMs, 0) / 1000;
    const timestamp = xsdTimestamp(outcomes[0]?.startedAt ?? run.startedAt);
    const cases = outcomes.map((o) => testcase(o, text));
    suites.push(
      `  <testsuite name="${text(host)}" hostname="${text(host)}" id="${id++}" tests="${counts.tests}" ` +
        `failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" ` +
        `time="${secondsText(seconds)}" timestamp="${timestamp}"` +
        (cases.length === 0 ? ' />' : `>\n${cases.join('\n')}\n  </testsuite>`),
    );
  }

  const wall = run.endedAt
    ? (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000
    : Math.max(0, ...run.outcomes.map((o) => (Date.parse(o.endedAt) - Date.parse(run.startedAt)) / 1000));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${text(options.name ?? 'drover')}" tests="${totals.tests}" failures="${totals.failures}" ` +
      `errors="${totals.errors}" skipped="${totals.skipped}" time="${secondsText(Math.max(0, wall))}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function testcase(o: CollectedOutcome, text: (s: string) => string): string {
  const name = o.handler ? `${o.task} (handler)` : o.task;
  const open = `    <testcase classname="${text(o.play)}" name="${text(name)}" time="${secondsText(o.durationMs / 1000)}"`;
  const message = o.message ?? '';
  const headline = text(firstLine(message));
  switch (o.status) {
    case 'failed':
      if (o.ignoredError)
        return `${open}>\n      <system-out>${text(`failed (ignored): ${message}`)}</system-out>\n    </testcase>`;
      return (
        `${open}>\n      <failure message="${headline}" type="${failureType(message)}">${text(message)}</failure>` +
        `\n    </testcase>`
      );
    case 'unreachable':
      return `${open}>\n      <error message="${headline}" type="unreachable">${text(message)}</error>\n    </testcase>`;
    case 'skipped':
      return `${open}>\n      <skipped${message ? ` message="${headline}"` : ''} />\n    </testcase>`;
    case 'changed': {
      const out = [`changed${message ? `: ${message}` : ''}`, ...(o.diff ? [o.diff] : [])].join('\n');
      return `${open}>\n      <system-out>${text(out)}</system-out>\n    </testcase>`;
    }
    case 'ok':
      return `${open} />`;
  }
}

/**
 * A CommandFailedError message reads `host: command failed (exit N): <command>` then the last
 * lines of stderr, all redacted already; the exit code becomes the failure type so report views
 * can group by it. The command itself may span lines (sh -c scripts), so the body keeps the
 * whole message rather than guessing where the command ends.
 */
function failureType(message: string): string {
  const m = /command failed \(exit (\d+|signal)\)/.exec(firstLine(message));
  return m ? `exit ${m[1]}` : 'failed';
}

const firstLine = (s: string): string => {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
};

const secondsText = (s: number): string => s.toFixed(3);

/** JUnit's XSD wants xs:dateTime without a zone; we write UTC. */
const xsdTimestamp = (iso: string): string => new Date(iso).toISOString().slice(0, 19);

/**
 * Escapes for both attributes and text, drops terminal colour codes, and drops the control
 * characters XML 1.0 forbids outright (a stray NUL or ESC in stderr would break the parser).
 */
function escapeXml(s: string): string {
  return s
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}
