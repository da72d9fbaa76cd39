import { REDACTED, Secret } from './secret.js';

/**
 * Remote commands are data. Builders in src/remote return a Cmd; `render` is the one place
 * that quotes for a POSIX shell (sh, dash, busybox: no bash-only `$'...'`).
 */
export type Arg = string | Secret;
export type Cmd =
  | { readonly kind: 'exec'; readonly argv: readonly Arg[] }
  | { readonly kind: 'pipe' | 'and'; readonly parts: readonly Cmd[] };

type MaybeArg = Arg | false | null | undefined;
const isArg = (a: MaybeArg): a is Arg => a !== false && a !== null && a !== undefined;

/** A single program with its arguments; falsy arguments are dropped, so options can be conditional. */
export const exec = (...argv: MaybeArg[]): Cmd => ({ kind: 'exec', argv: argv.filter(isArg) });
export const pipe = (...parts: Cmd[]): Cmd => ({ kind: 'pipe', parts });
export const and = (...parts: Cmd[]): Cmd => ({ kind: 'and', parts });

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX single-quote quoting: 'it'\''s'. Plain words stay bare for readable logs. */
export function quote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface RenderOptions {
  /** true for anything shown to people (logs, plans, errors); false only for the wire. */
  redact: boolean;
}

function renderArg(a: Arg, o: RenderOptions): string {
  if (a instanceof Secret) return o.redact ? REDACTED : quote(a.reveal());
  return quote(a);
}

export function render(cmd: Cmd, o: RenderOptions): string {
  switch (cmd.kind) {
    case 'exec':
      return cmd.argv.map((a) => renderArg(a, o)).join(' ');
    case 'pipe':
      return cmd.parts.map((p) => group(p, o)).join(' | ');
    case 'and':
      return cmd.parts.map((p) => group(p, o)).join(' && ');
  }
}

/** Compound parts are wrapped in braces so `a && b | c` never changes meaning. */
function group(c: Cmd, o: RenderOptions): string {
  const s = render(c, o);
  return c.kind === 'exec' ? s : `{ ${s}; }`;
}

/** Clear-text secrets inside a command, so a transport can scrub them from remote output. */
export function secretsOf(cmd: Cmd): string[] {
  switch (cmd.kind) {
    case 'exec':
      return cmd.argv.filter((a): a is Secret => a instanceof Secret).map((s) => s.reveal());
    default:
      return cmd.parts.flatMap(secretsOf);
  }
}
