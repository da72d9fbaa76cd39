import type { DocPath } from '../config/yaml-file.js';
import type { ConfigProblem, SourceLocation } from '../errors.js';
import type { Inventory, Vars } from '../inventory/types.js';
import { playbookSource } from '../playbook/load-playbook.js';
import type { Play, Playbook } from '../playbook/types.js';
import { pickVar, playLayers } from '../runner/host-vars.js';

/**
 * Where a host's var got the value a play sees, by the runner's precedence (pickVar in
 * runner/host-vars.ts): extra vars (the command line) win, then the play's `vars`, the
 * inventory, the play's `defaults`.
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

  /** The layer a play's var comes from on a host, by the runner's own precedence (no registered results yet). */
  private pick(play: Play, host: string, name: string) {
    return pickVar(playLayers(play, this.inventory.hosts.get(host)?.vars ?? {}, this.extraVars), name);
  }

  /** The value before templates are rendered, as the runner looks it up (registered: none yet). */
  raw(play: Play, host: string, name: string): unknown {
    return this.pick(play, host, name)?.value;
  }

  /** Whether the value comes from the inventory or the command line: what a user wrote for this run. */
  fromUser(play: Play, host: string, name: string): boolean {
    const source = this.pick(play, host, name)?.source;
    return source === 'extra' || source === 'inventory';
  }

  locate(play: Play, host: string, name: string): SourceLocation | undefined {
    const index = this.playbook.plays.indexOf(play);
    switch (this.pick(play, host, name)?.source) {
      case 'extra':
        return this.others[name] ?? { file: 'the command line', path: name };
      case 'play':
        return this.inPlaybook([index, 'vars', name]);
      case 'inventory':
        return this.inventory.locateVar?.(host, name) ?? this.others[name];
      case 'defaults': {
        // `defaults: *consul_defaults` is the same object as the play that anchors it: name that one.
        const first = this.playbook.plays.findIndex((p) => p.defaults === play.defaults);
        return this.inPlaybook([first < 0 ? index : first, 'defaults', name]);
      }
      default:
        return name === 'inventory_hostname' ? this.inventory.hosts.get(host)?.origin : undefined;
    }
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
