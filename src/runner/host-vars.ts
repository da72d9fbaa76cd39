import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Host, Inventory, Vars } from '../inventory/types.js';
import type { Play, VarScope } from '../playbook/types.js';
import { containsSecret, revealSecrets, Secret, secretTexts } from '../shell/secret.js';
import { containsTemplate } from '../playbook/compile-task.js';
import { isTemplated, renderTemplate } from '../template/render.js';

/** Registered results, per host, for the whole run (they outlive the play, as in Ansible). */
export type Registered = Map<string, Map<string, unknown>>;

/** A variable could not be resolved: missing, cyclic, or its template failed. Names the variable. */
class VariableError extends ConfigError {}

/** Deeper than this, a chain of templated vars is surely a mistake (and bounds the work). */
const MAX_DEPTH = 64;

/** `{{ name }}` or `{{ a.b.[0] }}` alone: the value keeps its type (list, number, Secret). */
const SINGLE_PATH = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_]+|\[[^\]]+\]))*)\s*\}\}\s*$/;

/** Where one host's vars come from in one play (and, for a task, around it). */
export interface VarLayers {
  readonly defaults: Vars;
  readonly inventory: Vars;
  readonly play: Vars;
  /** The `vars:` of the blocks, imports, includes and role entry around a task, and its own (inner ones win). */
  readonly scope?: Vars;
  readonly registered: ReadonlyMap<string, unknown> | undefined;
  readonly extra: Vars;
  /** While a loop runs: its `loop_var` (and `index_var`) for the current item. */
  readonly loop?: Vars;
}

export type VarSource = 'loop' | 'extra' | 'registered' | 'scope' | 'play' | 'inventory' | 'defaults';

export const playLayers = (
  play: Play,
  inventory: Vars,
  extra: Vars,
  registered?: ReadonlyMap<string, unknown>,
  scope: Vars = {},
  loop: Vars = {},
): VarLayers => ({ defaults: play.defaults, inventory, play: play.vars, scope, registered, extra, loop });

const has = (vars: Vars | undefined, name: string): vars is Vars =>
  vars !== undefined && Object.prototype.hasOwnProperty.call(vars, name);

/**
 * The layer whose value `name` takes, and that value as written (unrendered). Ansible's order,
 * lowest first: play `defaults` (under them the roles') < inventory < play `vars` < the vars
 * around the task (blocks, imports, includes, role entry, the task's own) < registered results
 * < extra vars < the loop's item.
 */
export function pickVar(layers: VarLayers, name: string): { source: VarSource; value: unknown } | undefined {
  if (has(layers.loop, name)) return { source: 'loop', value: layers.loop[name] };
  if (has(layers.extra, name)) return { source: 'extra', value: layers.extra[name] };
  if (layers.registered?.has(name)) return { source: 'registered', value: layers.registered.get(name) };
  if (has(layers.scope, name)) return { source: 'scope', value: layers.scope[name] };
  if (has(layers.play, name)) return { source: 'play', value: layers.play[name] };
  if (has(layers.inventory, name)) return { source: 'inventory', value: layers.inventory[name] };
  if (has(layers.defaults, name)) return { source: 'defaults', value: layers.defaults[name] };
  return undefined;
}

/** Every name some layer sets, lowest layer first. */
export function varNames(layers: VarLayers): Set<string> {
  return new Set([
    ...Object.keys(layers.defaults),
    ...Object.keys(layers.inventory),
    ...Object.keys(layers.play),
    ...Object.keys(layers.scope ?? {}),
    ...(layers.registered?.keys() ?? []),
    ...Object.keys(layers.extra),
    ...Object.keys(layers.loop ?? {}),
  ]);
}

/** The vars of a task's scopes as one layer: inner scopes win. */
export function scopeVars(scopes: readonly VarScope[]): Vars {
  return scopes.length === 1 ? (scopes[0] as VarScope).vars : Object.assign({}, ...scopes.map((s) => s.vars));
}

/**
 * What PlayVars works out from the vars as they stand. Registering a result may change any of
 * it (a templated var may read the result, also through hostvars), so register() starts a new
 * one rather than patching this.
 */
class Resolved {
  readonly layers = new Map<string, VarLayers>();
  /** Resolved values, per host. */
  readonly values = new Map<string, Map<string, unknown>>();
  /**
   * Views per host, with and without the globals (`groups`, `hostvars`), and the one `hostvars`
   * container they share: a task on each of N hosts then builds N views, not one per task and
   * template.
   */
  readonly views = new Map<string, Vars>();
  readonly globalViews = new Map<string, Vars>();
  hostvars: Vars | undefined;
  secretTexts: readonly string[] | undefined;
}

interface Tracker {
  touchedSecret: boolean;
}

/**
 * What the PlayVars of one play (its own, and those of its tasks' scopes and loop items) share:
 * the count of registered results (a new one starts every PlayVars' resolved values again),
 * `groups`, and the template render in progress that wants to know whether it read a secret
 * (#renderString): while it is set, views give clear text to that render and record that a
 * secret was read. Renders are synchronous, so one field serves all views, also those reached
 * through `hostvars`; nested renders save and restore it.
 */
interface Shared {
  generation: number;
  tracker: Tracker | undefined;
  groups: Record<string, string[]> | undefined;
}

/**
 * The run's own vars for a play, the same in the run and in the checks before it: check mode,
 * the play's hosts, the hosts found unreachable so far, and Ansible's `inventory_file` and
 * `inventory_dir` (what drover keeps beside the inventory is found from them).
 */
export function runVars(o: {
  check: boolean;
  playHosts: readonly string[];
  unreachable: readonly string[];
  inventoryFile: string;
}): Vars {
  return {
    drover_check_mode: o.check,
    drover_play_hosts: [...o.playHosts],
    // Later plays (e.g. a cluster check) can leave these out: the recap already says unreachable.
    drover_unreachable_hosts: [...o.unreachable],
    inventory_file: resolve(o.inventoryFile),
    inventory_dir: dirname(resolve(o.inventoryFile)),
  };
}

/**
 * Every host's variables for one play, resolved lazily. Precedence as pickVar says (extra vars
 * are given to the run, e.g. `drover upgrade --image`); then the magic vars
 * (`inventory_hostname`, `group_names`, `groups`, `hostvars`, ...), which cannot be overridden.
 * `groups` and `hostvars` always cover the whole inventory, whatever --limit says.
 *
 * Values that contain templates are rendered on first use, per host, in the context of that
 * same host, so `consul_client_addr: "127.0.0.1 {{bind_addr}}"` in `defaults` sees each host's
 * own `bind_addr`. Resolving one var resolves what it refers to first (dependency order);
 * a cycle or a chain deeper than MAX_DEPTH is an error naming the vars involved.
 *
 * Secrets stay Secret objects. A template that reads a Secret yields a Secret, so a var like
 * `header: "X-Consul-Token: {{ acl_token }}"` is redacted everywhere it is shown.
 */
export class PlayVars {
  readonly #inventory: Inventory;
  readonly #play: Play;
  readonly #registered: Registered;
  readonly #magic: Vars;
  readonly #extra: Vars;
  /** The vars around the task these are for (forScopes), and the loop's item (withLoop). */
  #scope: Vars = {};
  #loop: Vars = {};
  #scopes: readonly VarScope[] = [];
  /** The play's vars without scope or loop: its `hostvars` are every task's. */
  #root: PlayVars = this;
  /** What the play's vars and those of its tasks' scopes share (see Shared). */
  #shared: Shared = { generation: 0, tracker: undefined, groups: undefined };
  #resolved = new Resolved();
  /** The `#shared.generation` that #resolved was worked out at. */
  #resolvedAt = 0;
  /** The vars of each task's scopes, by the task's scopes list: made once per play (root only). */
  readonly #children = new WeakMap<readonly VarScope[], PlayVars>();
  /** The vars being resolved, outermost first (`host\0name`): a repeat is a cycle. */
  readonly #resolving: string[] = [];

  constructor(inventory: Inventory, play: Play, registered: Registered, magic: Vars = {}, extra: Vars = {}) {
    this.#inventory = inventory;
    this.#play = play;
    this.#registered = registered;
    this.#magic = magic;
    this.#extra = extra;
  }

  /**
   * The vars a task sees: these, with the `vars:` of its blocks, imports, includes, role entry
   * and its own as one layer above play vars. The same object for every host and every call
   * with the same scopes (one per task), so its resolved values are kept until a register.
   */
  forScopes(scopes: readonly VarScope[]): PlayVars {
    const root = this.#root;
    if (scopes.length === 0) return root;
    let child = root.#children.get(scopes);
    if (!child) {
      child = root.#derive(scopes, {});
      root.#children.set(scopes, child);
    }
    return child;
  }

  /** These vars with a loop's item (its `loop_var`, `index_var`) on top: one per item. */
  withLoop(loop: Vars): PlayVars {
    return this.#derive(this.#scopes, loop);
  }

  #derive(scopes: readonly VarScope[], loop: Vars): PlayVars {
    const child = new PlayVars(this.#inventory, this.#play, this.#registered, this.#magic, this.#extra);
    child.#root = this.#root;
    child.#shared = this.#shared;
    child.#resolvedAt = this.#shared.generation;
    child.#scopes = scopes;
    child.#scope = scopeVars(scopes);
    child.#loop = loop;
    return child;
  }

  /** Stores a task result under `name` for `host`; later templates and conditions see it. */
  register(host: string, name: string, value: unknown): void {
    let forHost = this.#registered.get(host);
    if (!forHost) this.#registered.set(host, (forHost = new Map()));
    forHost.set(name, value);
    // Every PlayVars of the play starts again: a templated var anywhere may read the result.
    this.#shared.generation++;
  }

  /** What is resolved so far, started again after a register (by any of the play's PlayVars). */
  get #res(): Resolved {
    if (this.#resolvedAt !== this.#shared.generation) {
      this.#resolved = new Resolved();
      this.#resolvedAt = this.#shared.generation;
    }
    return this.#resolved;
  }

  /** `groups`: every group -> its hosts, for the whole inventory; worked out once per play. */
  get #groups(): Record<string, string[]> {
    let groups = this.#shared.groups;
    if (!groups) {
      const inventory = this.#inventory;
      groups = Object.fromEntries([...inventory.groups.values()].map((g) => [g.name, [...g.hosts]]));
      // `all` always exists, even when the inventory loader does not list it as a group.
      if (!groups['all']) groups['all'] = [...inventory.hosts.keys()];
      this.#shared.groups = groups;
    }
    return groups;
  }

  /**
   * Clear text of every Secret any host's vars hold. A view reaches all of them through
   * `hostvars`, so this is the same for every host, and one walk serves the whole play. A var
   * whose template fails cannot have been shown anywhere, so it adds nothing and is no error here.
   */
  secretTexts(): readonly string[] {
    const resolved = this.#res;
    if (resolved.secretTexts) return resolved.secretTexts;
    // A task's scope and loop add their own vars to the play's: only those are walked again.
    const root = this.#root;
    const own = root === this ? undefined : [...Object.keys(this.#scope), ...Object.keys(this.#loop)];
    const found = new Set(root === this ? secretTexts(this.#magic) : root.secretTexts());
    for (const host of this.#inventory.hosts.keys()) {
      for (const name of own ?? varNames(this.#layers(host))) {
        let value: unknown;
        try {
          value = this.#resolve(host, name);
        } catch (err) {
          if (err instanceof VariableError) continue;
          throw err;
        }
        secretTexts(value, found);
      }
    }
    resolved.secretTexts = [...found];
    return resolved.secretTexts;
  }

  /** The vars of `host` as a plain object whose properties resolve on first read. */
  view(host: string): Vars {
    return this.#view(host, true);
  }

  /** The value of one var for `host` (Secrets kept), or an error naming it when undefined. */
  get(host: string, name: string): unknown {
    const view = this.view(host);
    if (!(name in view)) throw this.#error(host, `variable "${name}" is not defined`);
    return view[name];
  }

  /**
   * Renders a value from a task (args, or anything templated) for `host`. Strings are rendered
   * strictly; a string that is one `{{ path }}` keeps the referenced value's type. `label` names
   * the place in messages, e.g. `task "write config" arg content`.
   */
  render(host: string, value: unknown, label: string): unknown {
    return this.#renderValue(host, value, label);
  }

  #layers(host: string): VarLayers {
    const resolved = this.#res;
    let layers = resolved.layers.get(host);
    if (!layers) {
      layers = playLayers(
        this.#play,
        this.#host(host).vars,
        this.#extra,
        this.#registered.get(host),
        this.#scope,
        this.#loop,
      );
      resolved.layers.set(host, layers);
    }
    return layers;
  }

  #host(name: string): Host {
    const h = this.#inventory.hosts.get(name);
    if (!h)
      throw new VariableError([
        { file: this.#inventory.file, message: `no host "${name}" in the inventory` },
      ]);
    return h;
  }

  #magicFor(h: Host): Vars {
    return {
      ...this.#magic,
      inventory_hostname: h.name,
      group_names: h.groups.filter((g) => g !== 'all' && g !== 'ungrouped'),
    };
  }

  #resolve(host: string, name: string): unknown {
    const values = this.#res.values;
    let memo = values.get(host);
    if (memo?.has(name)) return memo.get(name);
    const picked = pickVar(this.#layers(host), name);
    let value = picked?.value;
    // Registered results are data, never templates; the rest may be.
    if (picked && picked.source !== 'registered' && containsTemplate(picked.value)) {
      const key = `${host}\u0000${name}`;
      const at = this.#resolving.indexOf(key);
      if (at >= 0) {
        const chain = [...this.#resolving.slice(at), key].map((k) => k.split('\u0000')[1]).join(' -> ');
        throw this.#error(host, `variables refer to each other in a cycle: ${chain}`);
      }
      if (this.#resolving.length >= MAX_DEPTH) {
        throw this.#error(host, `variable "${name}": templated variables nest more than ${MAX_DEPTH} deep`);
      }
      this.#resolving.push(key);
      try {
        // A var's value does not depend on which render asked for it: none tracks it.
        value = this.#tracking(undefined, () =>
          this.#renderValue(host, picked.value, `host ${host}: variable "${name}"`),
        );
      } catch (err) {
        if (err instanceof VariableError) throw err;
        // Name the variable whose template failed; outer templates keep this innermost message.
        const why = err instanceof ConfigError ? err.problems.map((p) => p.message).join('; ') : String(err);
        throw new VariableError([{ file: `host ${host}`, message: `variable "${name}": ${why}` }], {
          cause: err,
        });
      } finally {
        this.#resolving.pop();
      }
    }
    if (!memo) values.set(host, (memo = new Map()));
    memo.set(name, value);
    return value;
  }

  #renderValue(host: string, value: unknown, label: string): unknown {
    if (typeof value === 'string') return isTemplated(value) ? this.#renderString(host, value, label) : value;
    if (Array.isArray(value)) return value.map((v, i) => this.#renderValue(host, v, `${label}[${i}]`));
    if (value !== null && typeof value === 'object' && !(value instanceof Secret)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.#renderValue(host, v, `${label}.${k}`)]),
      );
    }
    return value;
  }

  #renderString(host: string, source: string, label: string): unknown {
    const single = SINGLE_PATH.exec(source);
    try {
      if (single) return this.#tracking(undefined, () => this.#walk(host, single[1] as string, label));
      const view = this.#view(host, true);
      const tracker: Tracker = { touchedSecret: false };
      const out = this.#tracking(tracker, () => renderTemplate(source, view, { name: label, reveal: false }));
      if (!tracker.touchedSecret) return out;
      // Shown with only the secret parts redacted, so diffs of a config file still show its shape.
      const shown = this.#tracking(undefined, () =>
        renderTemplate(source, view, { name: label, reveal: false }),
      );
      return new TemplatedSecret(out, shown);
    } catch (err) {
      // A var's own failure deep inside a template is the precise message; keep it, not the wrapper.
      const inner = innermostVariableError(err);
      if (inner) throw inner;
      throw err;
    }
  }

  /** Follows `a.b.[0]` through the view, as strict Handlebars would, but keeps the value's type. */
  #walk(host: string, path: string, label: string): unknown {
    const parts = path.split('.').map((p) => p.replace(/^\[(.*)\]$/, '$1'));
    let current: unknown = this.#view(host, true);
    let seen = '';
    for (const part of parts) {
      seen = seen ? `${seen}.${part}` : part;
      if (
        current === null ||
        typeof current !== 'object' ||
        current instanceof Secret ||
        !(part in current)
      ) {
        throw new VariableError([{ file: label, message: `variable "${seen}" is not defined` }]);
      }
      current = (current as Record<string, unknown>)[part];
    }
    return current;
  }

  /** Runs `render` with `tracker` as the render in progress, then puts the previous one back. */
  #tracking<T>(tracker: Tracker | undefined, render: () => T): T {
    const shared = this.#shared;
    const outer = shared.tracker;
    shared.tracker = tracker;
    try {
      return render();
    } finally {
      shared.tracker = outer;
    }
  }

  /** A value as a view hands it out: clear text (recorded) to a tracking render, else as is. */
  #shown(value: unknown): unknown {
    const tracker = this.#shared.tracker;
    if (!tracker || !containsSecret(value)) return value;
    tracker.touchedSecret = true;
    return revealSecrets(value);
  }

  /**
   * A plain object (Object.prototype, enumerable getters) so renderTemplate's revealSecrets can
   * copy it for modules that render with reveal. Getters give Secrets as Secret objects, except
   * to a tracking render (see Shared.tracker).
   */
  #view(host: string, withGlobals: boolean): Vars {
    const resolved = this.#res;
    const cache = withGlobals ? resolved.globalViews : resolved.views;
    const cached = cache.get(host);
    if (cached) return cached;
    const h = this.#host(host);
    const out: Vars = {};
    const define = (name: string, get: () => unknown) =>
      Object.defineProperty(out, name, { enumerable: true, configurable: true, get });
    for (const name of varNames(this.#layers(host)))
      define(name, () => this.#shown(this.#resolve(host, name)));
    for (const [name, v] of Object.entries(this.#magicFor(h))) define(name, () => this.#shown(v));
    if (withGlobals) {
      define('groups', () => this.#groups);
      // hostvars[h] holds that host's vars without its own groups/hostvars. The container has no
      // prototype, so renderTemplate's reveal copy does not walk (and resolve) every host's vars:
      // other hosts' vars resolve only when a template reads them, and their secrets stay redacted.
      // A task's own scope and loop are its own: other hosts' vars are seen as the play has them.
      const root = this.#root;
      define('hostvars', () => (root.#res.hostvars ??= root.#hostvars()));
    } else {
      delete out['groups'];
      delete out['hostvars'];
    }
    // Shared by every task until the next register(): frozen, so no one's change leaks into another's.
    Object.freeze(out);
    cache.set(host, out);
    return out;
  }

  #hostvars(): Vars {
    const all = Object.create(null) as Vars;
    for (const name of this.#inventory.hosts.keys()) {
      Object.defineProperty(all, name, { enumerable: true, get: () => this.#view(name, false) });
    }
    return all;
  }

  #error(host: string, message: string): VariableError {
    return new VariableError([{ file: `host ${host}`, message }]);
  }
}

/**
 * A string rendered from a template that read a secret: the clear text goes to hosts, and
 * everywhere else it prints as the same template rendered with the secrets redacted.
 */
class TemplatedSecret extends Secret {
  readonly #shown: string;
  constructor(clear: string, shown: string) {
    super(clear);
    this.#shown = shown;
  }
  override toString(): string {
    return this.#shown;
  }
  override toJSON(): string {
    return this.#shown;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.#shown;
  }
}

function innermostVariableError(err: unknown): VariableError | undefined {
  let found: VariableError | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof VariableError) found = e;
  return found;
}
