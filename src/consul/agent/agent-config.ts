import { describeAjvErrors, schemaDocument, schemaValidator } from '../../config/schema.js';
import { ConfigError, type ConfigProblem } from '../../errors.js';

export const AGENT_CONFIG_SCHEMA = 'consul-agent.schema.json';

/**
 * Checks a rendered Consul agent config against schemas/consul-agent.schema.json before it goes
 * to a host. The schema holds Consul's own rules (read in Consul's source: addresses, names,
 * durations, log levels, gossip keys, raft_multiplier), so this is the one rule set: drover's
 * check of every host's config before any connection (src/input-check) uses it too. Pass the
 * text that will be written (secrets revealed): a redacted render would fail the `encrypt` rule.
 * Messages name the key and the rule, never the value, so a gossip key cannot leak through a
 * validation error.
 */
export function agentConfigProblems(rendered: string, file: string): ConfigProblem[] {
  let value: unknown;
  try {
    value = JSON.parse(rendered) as unknown;
  } catch (err) {
    // V8's message quotes the text around the error, which may hold the gossip key: say where only.
    const word = bareWord(rendered);
    if (word) {
      const hint = word.word === 'undefined' ? ' (a template variable that is not defined?)' : '';
      return [
        {
          file,
          ...lineAndColumn(rendered, word.at),
          message: `rendered config is not valid JSON: bare word "${word.word}"${hint}`,
        },
      ];
    }
    return [{ file, ...jsonErrorPosition(rendered, err), message: 'rendered config is not valid JSON' }];
  }
  const validate = schemaValidator(AGENT_CONFIG_SCHEMA);
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  // The schema's if/then holds the client rules; ajv's words for them ("boolean schema is false")
  // would not tell anyone what is wrong.
  const clientRules = errors.filter((e) => e.schemaPath.startsWith('#/then/'));
  const rest = errors.filter((e) => !e.schemaPath.startsWith('#/then/') && e.keyword !== 'if');
  return [
    ...clientRules.map((e) => ({
      file,
      path: dotted(e.instancePath.slice(1).split('/')),
      message:
        e.keyword === 'const'
          ? `must be ${JSON.stringify((e.params as { allowedValue?: unknown }).allowedValue)} on a client (server is false)`
          : 'is only allowed on servers (server is false)',
    })),
    ...describeAjvErrors(rest, schemaDocument(AGENT_CONFIG_SCHEMA)).map(({ path, message }) => ({
      file,
      path: dotted(path),
      message,
    })),
  ];
}

/** Throws a ConfigError listing every problem; returns the parsed config when it is valid. */
export function assertAgentConfig(rendered: string, file: string): Record<string, unknown> {
  const problems = agentConfigProblems(rendered, file);
  if (problems.length > 0) throw new ConfigError(problems);
  return JSON.parse(rendered) as Record<string, unknown>;
}

/** `['ports', 'http']` → `ports.http`; list indexes as `retry_join[1]`. */
function dotted(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' || /^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p),
    '',
  );
}

function jsonErrorPosition(text: string, err: unknown): { line?: number; column?: number } {
  const at = /position (\d+)/.exec(err instanceof Error ? err.message : '');
  return at ? lineAndColumn(text, Number(at[1])) : {};
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
}

/**
 * The first word outside string literals that JSON does not know. `{{json x}}` with an undefined
 * `x` renders the word `undefined`; this finds it where V8's message gives no position.
 */
function bareWord(text: string): { word: string; at: number } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (/[-0-9]/.test(c)) {
      i += (/^-?\d*(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i))?.[0].length ?? 1) - 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0] ?? c;
      if (word !== 'true' && word !== 'false' && word !== 'null') return { word, at: i };
      i += word.length - 1;
    }
  }
  return undefined;
}
