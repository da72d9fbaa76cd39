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
