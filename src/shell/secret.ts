/**
 * A value that must never be printed: gossip keys, ACL tokens. It renders as `<redacted>`
 * everywhere unless a caller explicitly asks for the clear text to send it to a host.
 */
export const REDACTED = '<redacted>';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The clear text. Only transports and file writers call this. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

export const secret = (value: string): Secret => new Secret(value);
export const isSecret = (v: unknown): v is Secret => v instanceof Secret;

/**
 * Replaces every occurrence of the given clear-text secrets in `text`. Used on remote output
 * and error messages, where a secret may come back from the host (e.g. an echoed config).
 */
export function redactText(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

/**
 * The one definition of where Secrets are looked for inside a value: arrays and plain objects
 * (what YAML, JSON and templates make). Anything else is a leaf, including an object without a
 * prototype: runner/host-vars.ts gives its `hostvars` container none so that no walk enters it
 * (entering it would resolve every host's vars).
 */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** Whether `test` holds for some Secret inside `value`; stops at the first that does. */
function someSecret(value: unknown, test: (s: Secret) => boolean): boolean {
  if (value instanceof Secret) return test(value);
  if (Array.isArray(value)) return value.some((v) => someSecret(v, test));
  if (isPlainRecord(value)) return Object.values(value).some((v) => someSecret(v, test));
  return false;
}

export const containsSecret = (value: unknown): boolean => someSecret(value, () => true);

/** Clear texts of every Secret in a value, to scrub them from messages that did not come redacted. */
export function secretTexts(value: unknown, out: Set<string> = new Set()): Set<string> {
  someSecret(value, (s) => {
    out.add(s.reveal());
    return false;
  });
  return out;
}

/** Deep copy of `value` with every Secret replaced by what `by` makes of it. */
function replaceSecrets(value: unknown, by: (s: Secret) => string): unknown {
  if (value instanceof Secret) return by(value);
  if (Array.isArray(value)) return value.map((v) => replaceSecrets(v, by));
  if (isPlainRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecrets(v, by)]));
  }
  return value;
}

/** Deep copy with every Secret as its clear text; only for what is sent to hosts. */
export const revealSecrets = <T>(value: T): T => replaceSecrets(value, (s) => s.reveal()) as T;

/** Deep copy with every Secret as `<redacted>`, safe to print or serialise by any means. */
export const redactSecrets = (value: unknown): unknown => replaceSecrets(value, () => REDACTED);
