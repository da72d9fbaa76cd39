import { REDACTED, redactText } from '../shell/secret.js';

/**
 * The file on the host holds secrets in clear text, and they may be old ones (a rotated gossip
 * key) that no current variable knows. The redacted rendering shows where secrets sit: every
 * line of `shownAfter` with `<redacted>` becomes a pattern, and the same spots in matching lines
 * of `before` are blanked too. Known secrets are scrubbed everywhere on top of that.
 */
export function redactBefore(before: string, shownAfter: string, knownSecrets: readonly string[]): string {
  const patterns = shownAfter
    .split('\n')
    .filter((line) => line.includes(REDACTED))
    .map(linePattern);
  const lines = before.split('\n').map((line) => {
    for (const pattern of patterns) {
      const m = pattern.exec(line);
      if (m) return rebuild(line, m);
    }
    return line;
  });
  return redactText(lines.join('\n'), knownSecrets);
}

/** `  "encrypt": "<redacted>",` -> /^(\s*"encrypt":\s*")(.*?)(",)$/: literal and secret groups alternate. */
function linePattern(line: string): RegExp {
  const pieces = line.split(REDACTED);
  const body = pieces.map((p, i) => `(${flexible(p, i === 0, i === pieces.length - 1)})`).join('(.*?)');
  return new RegExp(`^${body}$`);
}

/** Escapes literal text, letting whitespace vary so re-indented files still match. */
function flexible(text: string, first: boolean, last: boolean): string {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s*');
  if (first && !text.trim()) return '\\s*';
  if (last && !text.trim()) return '\\s*';
  return escaped;
}

/** Keeps literal groups (even indices), replaces the secret groups (odd indices) with <redacted>. */
function rebuild(line: string, m: RegExpExecArray): string {
  const groups = m.slice(1);
  return groups.map((g, i) => (i % 2 === 0 ? g : g === '' ? '' : REDACTED)).join('') || line;
}
