import type { DocPath } from '../config/yaml-file.js';
import type { ConfigProblem, SourceLocation } from '../errors.js';
import type { Inventory, Vars } from '../inventory/types.js';
import { playbookSource } from '../playbook/load-playbook.js';
import type { Play, Playbook } from '../playbook/types.js';

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Where a host's var got the value a play sees, by the runner's precedence (host-vars.ts): extra
 * vars (the command line) win, then the play's `vars`, the inventory, the play's `defaults`.
 * A bad value is reported where it was written, so that fixing it is one edit.
 */
export class VarOrigins {
  constructor(
    private readonly inventory: Inventory,
    private readonly playbook: Playbook,
    private readonly extraVars: Vars,
    /** Vars put in by drover (the gossip key from DROVER_GOSSIP_KEY or the key file). */
    private readonly others: Readonly<Record<string, SourceLocation>>,
  ) {}

  /** The value before templates are rendered, as the runner looks it up (registered: none yet). */
  raw(play: Play, host: string, name: string): unknown {
    if (has(this.extraVars, name)) return this.extraVars[name];
    if (has(play.vars, name)) return play.vars[name];
    const vars = this.inventory.hosts.get(host)?.vars;
    if (vars && has(vars, name)) return vars[name];
    return has(play.defaults, name) ? play.defaults[name] : undefined;
  }

  /** Whether the value comes from the inventory or the command line: what a user wrote for this run. */
  fromUser(play: Play, host: string, name: string): boolean {
    if (has(this.extraVars, name)) return true;
    if (has(play.vars, name)) return false;
    const vars = this.inventory.hosts.get(host)?.vars;
    return vars !== undefined && has(vars, name);
  }

  locate(play: Play, host: string, name: string): SourceLocation | undefined {
    if (has(this.extraVars, name)) return this.others[name] ?? { file: 'the command line', path: name };
    const index = this.playbook.plays.indexOf(play);
    if (has(play.vars, name)) return this.inPlaybook([index, 'vars', name]);
    const vars = this.inventory.hosts.get(host)?.vars;
    if (vars && has(vars, name)) return this.inventory.locateVar?.(host, name) ?? this.others[name];
    if (has(play.defaults, name)) {
      // `defaults: *consul_defaults` is the same object as the play that anchors it: name that one.
      const first = this.playbook.plays.findIndex((p) => p.defaults === play.defaults);
      return this.inPlaybook([first < 0 ? index : first, 'defaults', name]);
    }
    if (name === 'inventory_hostname') return this.inventory.hosts.get(host)?.origin;
    return undefined;
  }

  /** A problem at a place in the playbook (a play's hosts, a task's arg). */
  inPlaybook(path: DocPath): SourceLocation {
    const yaml = playbookSource(this.playbook);
    if (!yaml) return { file: this.playbook.file };
    const { message: _, ...at } = yaml.problem(path, '');
    return at;
  }

  problem(at: SourceLocation, message: string): ConfigProblem {
    return { ...at, message };
  }
}
