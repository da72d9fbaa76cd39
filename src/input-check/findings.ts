import { formatProblem, type ConfigProblem } from '../errors.js';
import { redactText } from '../shell/secret.js';

/** Hosts named in a message before `and N more`. */
const HOSTS_SHOWN = 3;

/**
 * The problems the check before any connection finds, each once: the same bad value found on
 * many hosts (a group var, a play default) is one line naming the hosts. Messages never carry
 * a secret: they are scrubbed of every secret the run knows, whatever built them.
 */
export class Findings {
  readonly #byKey = new Map<string, { problem: ConfigProblem; hosts: Set<string> }>();
  readonly #secrets: readonly string[];
  /** Files whose problems come first, in this order (the inventory, then the playbook). */
  readonly #fileOrder: readonly string[];

  constructor(secrets: readonly string[], fileOrder: readonly string[]) {
    this.#secrets = secrets;
    this.#fileOrder = fileOrder;
  }

  get size(): number {
    return this.#byKey.size;
  }

  add(problem: ConfigProblem, host?: string): void {
    const clean = { ...problem, message: redactText(problem.message, this.#secrets) };
    const key = formatProblem(clean);
    let entry = this.#byKey.get(key);
    if (!entry) this.#byKey.set(key, (entry = { problem: clean, hosts: new Set() }));
    if (host !== undefined) entry.hosts.add(host);
  }

  /** In file order (inventory, playbook, then others), then by position. */
  problems(): ConfigProblem[] {
    const rank = (file: string) => {
      const i = this.#fileOrder.indexOf(file);
      return i < 0 ? this.#fileOrder.length : i;
    };
    return [...this.#byKey.values()]
      .map(({ problem, hosts }) => ({ ...problem, message: problem.message + forHosts([...hosts]) }))
      .sort(
        (a, b) =>
          rank(a.file) - rank(b.file) ||
          a.file.localeCompare(b.file) ||
          (a.line ?? 0) - (b.line ?? 0) ||
          (a.column ?? 0) - (b.column ?? 0),
      );
  }
}

function forHosts(hosts: readonly string[]): string {
  if (hosts.length === 0) return '';
  if (hosts.length === 1) return `, for host ${hosts[0]}`;
  const shown = hosts.slice(0, HOSTS_SHOWN).join(', ');
  const more = hosts.length - HOSTS_SHOWN;
  return `, for hosts ${shown}${more > 0 ? ` and ${more} more` : ''}`;
}
