import { quote } from '../shell/cmd.js';
import type { ConnectionSpec } from './transport.js';

/**
 * Privilege escalation: the whole rendered command runs under `sh -c` as root, so pipes and
 * redirects are elevated too. With a password, sudo reads it from the first line of stdin;
 * `-k` makes sudo ask every time, so the password line is always consumed by sudo and never
 * reaches the command (sudoers with NOPASSWD must not be combined with a become password).
 */
export function becomeCommand(
  rendered: string,
  spec: Pick<ConnectionSpec, 'become' | 'user' | 'becomePassword'>,
): {
  command: string;
  stdinPrefix?: string;
} {
  if (!spec.become || spec.user === 'root') return { command: rendered };
  if (spec.becomePassword) {
    return {
      command: `sudo -k -S -p '' sh -c ${quote(rendered)}`,
      stdinPrefix: `${spec.becomePassword.reveal()}\n`,
    };
  }
  return { command: `sudo -n sh -c ${quote(rendered)}` };
}

/** The stdin a become-wrapped command gets: sudo's password line (if any), then the command's own. */
export function joinStdin(
  prefix: string | undefined,
  stdin: string | Buffer | undefined,
): string | Buffer | undefined {
  if (prefix === undefined) return stdin;
  if (stdin === undefined) return prefix;
  return typeof stdin === 'string' ? prefix + stdin : Buffer.concat([Buffer.from(prefix), stdin]);
}
