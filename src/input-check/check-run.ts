import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pause } from '../config/interrupt.js';
import { describeAjvErrors, objectValidator, schemaDocument, schemaValidator } from '../config/schema.js';
import { AGENT_CONFIG_SCHEMA, agentConfigProblems } from '../consul/agent/agent-config.js';
import {
  ConfigError,
  TaskFailedError,
  UsageError,
  type ConfigProblem,
  type SourceLocation,
} from '../errors.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Group, Inventory, Vars } from '../inventory/types.js';
import { DEFAULT_SERVICE_SCHEMA, DEFAULT_SERVICE_TEMPLATE } from '../modules/consul-services.js';
import { PROJECT_ROOT, SCHEMAS_DIR } from '../paths.js';
import { conditionsHold, ExpressionError, type Condition } from '../playbook/expression.js';
import { groupByTasks, withGroupBy } from '../playbook/group-by.js';
import type { AnyModule } from '../modules/module.js';
import type { ModuleMap } from '../playbook/module-map.js';
import { leafTasks } from '../playbook/nodes.js';
import { withRoleFiles } from '../playbook/roles.js';
import { parseSerial } from '../playbook/serial.js';
import { locateIn } from '../playbook/source.js';
import { compileIncludedFile } from '../playbook/task-list.js';
import type { IncludeTasks, Loop, Play, Playbook, Task, TaskNode, VarScope } from '../playbook/types.js';
import { coerceTemplatedArgs } from '../runner/coerce-args.js';
import { PlayVars, runVars } from '../runner/host-vars.js';
import { includeFile } from '../runner/include.js';
import { itemLabel, itemVars, loopItems } from '../runner/run-loop.js';
import { revealSecrets, secretTexts } from '../shell/secret.js';
import { renderTemplate } from '../template/render.js';
import { Findings } from './findings.js';
import { tlsVarProblems } from './tls-vars.js';
import { LocalFiles } from './local-files.js';
import {
  conditionNames,
  dependsOnRun,
  registeredNames,
  templateIdentifiers,
  templateStrings,
} from './runtime-deps.js';
import { VarOrigins } from './var-origin.js';

export interface RunInput {
  /** The whole inventory, as the run will see it (with the gossip key, when drover adds one). */
  inventory: Inventory;
  playbook: Playbook;
  modules: ModuleMap;
  /** Where relative `src:` paths resolve: the project around the playbook. */
  baseDir: string;
  /** The command line's vars (`--image`, `--serial`), above all others. */
  extraVars?: Vars;
  check?: boolean;
  /** Where vars drover put in came from (the gossip key: DROVER_GOSSIP_KEY or the key file). */
  origins?: Readonly<Record<string, SourceLocation>>;
  /** Ctrl-C / SIGTERM: the check pauses every few hosts, and stops when this is aborted. */
  signal?: AbortSignal;
}

/**
 * Module args that name local files, and which of them are a template to render and the JSON
 * Schema its output must satisfy: what the modules read on the control machine at run time.
 */
const LOCAL_FILES: Readonly<
  Record<
    string,
    {
      files: readonly string[];
      defaults?: Readonly<Record<string, string>>;
      template?: string;
      schema?: string;
    }
  >
> = {
  template: { files: ['src', 'validate_schema'], template: 'src', schema: 'validate_schema' },
  consul_config_check: { files: ['src'], template: 'src' },
  copy: { files: ['src'] },
  consul_services: {
    files: ['template', 'validate_schema'],
    defaults: { template: DEFAULT_SERVICE_TEMPLATE, validate_schema: DEFAULT_SERVICE_SCHEMA },
  },
};

/** `"{{ name }}"` alone: the arg is that var, and a bad value is reported where the var is written. */
const SINGLE_VAR = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/;

/** Hosts checked between two pauses (for signals). */
const HOSTS_PER_PAUSE = 200;

/** Names with a value of their own that no inventory or play sets; never the source of a bad value. */
const MAGIC = new Set([
  'groups',
  'hostvars',
  'group_names',
  'inventory_hostname',
  'inventory_file',
  'inventory_dir',
]);

/** What a rescue's tasks see of the failure it rescues (runner/batch.ts): known only during the run. */
const RESCUE_VARS = ['ansible_failed_task', 'ansible_failed_result'];

/**
 * Everything a run can check from its files alone, for every host of every play, before it opens
 * a connection or takes the lock: the plays' host patterns; each host's templated `serial`, `when`
 * and module args, rendered and validated against the module's schema as the runner would (every
 * task of a block's block, rescue and always; each item of a loop; the tasks of each file an
 * include names for the host); the local files those args name (confined to the project and the
 * inventory's folder, a role's own templates first); each rendered template checked against its
 * JSON Schema (the Consul agent config against Consul's own rules,
 * schemas/consul-agent.schema.json). Values that only the run can know (results a task
 * registers, and whatever reads them, such as a loop over them or a path built from them) are
 * left to it.
 *
 * Returns every problem found, located where the bad value is written (the inventory var, the
 * play default, the task arg), each once with the hosts it concerns. Never contacts a host.
 */
export async function checkRunInput(input: RunInput): Promise<ConfigProblem[]> {
  const check = new RunCheck(input);
  await check.all();
  return check.findings.problems();
}

class RunCheck {
  readonly findings: Findings;
  readonly #input: RunInput;
  readonly #modules: ReadonlyMap<string, AnyModule>;
  /** Grows with the results the tasks of included files register, as they are compiled. */
  readonly #runtime: Set<string>;
  readonly #origins: VarOrigins;
  readonly #files: LocalFiles;
  readonly #extraVars: Vars;
  /**
   * Each template's text for a host, rendered once (the config check task renders the template
   * task's; undefined when it failed, already reported), and the schemas checked against it.
   */
  readonly #rendered = new Map<string, string | undefined>();
  readonly #validated = new Set<string>();
  #hostsChecked = 0;

  constructor(input: RunInput) {
    this.#input = input;
    this.#extraVars = input.extraVars ?? {};
    this.#modules = withGroupBy(input.modules);
    this.#runtime = new Set([...registeredNames(input.playbook), ...RESCUE_VARS]);
    this.#origins = new VarOrigins(input.inventory, input.playbook, this.#extraVars, input.origins ?? {});
    this.#files = new LocalFiles(input.baseDir, dirname(input.inventory.file), PROJECT_ROOT);
    const secrets = new Set<string>(secretTexts(this.#extraVars));
    for (const h of input.inventory.hosts.values()) secretTexts(h.vars, secrets);
    this.findings = new Findings([...secrets], [input.inventory.file, input.playbook.file]);
  }

  async all(): Promise<void> {
    const { inventory, playbook } = this.#input;
    const { view, dynamicKeys } = withDynamicGroups(inventory, playbook);
    for (const [index, play] of playbook.plays.entries()) {
      let hosts: string[];
      try {
        hosts = selectHosts(view, play.hosts);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        // A group made by a templated group_by key is only known once the run is on.
        if (!dynamicKeys)
          this.#add(this.#origins.inPlaybook([index, 'hosts']), `play "${play.name}": ${err.message}`);
        continue;
      }
      if (hosts.length === 0) continue;
      const vars = new PlayVars(
        view,
        play,
        new Map(),
        runVars({
          check: this.#input.check ?? false,
          playHosts: hosts,
          unreachable: [],
          inventoryFile: view.file,
        }),
        this.#extraVars,
      );
      for (const host of hosts) {
        this.#serial(play, index, vars, host);
        this.#tlsVars(play, vars, host);
        this.#nodes(play, vars, host, play.body);
        for (const handler of play.handlers) this.#task(play, vars, host, handler);
        if (++this.#hostsChecked % HOSTS_PER_PAUSE === 0) await pause(this.#input.signal);
      }
    }
  }

  #add(at: SourceLocation, message: string, host?: string): void {
    this.findings.add({ ...at, message }, host);
  }

  /** The TLS vars, where they are written (the templates would turn a typo into a listener left open). */
  #tlsVars(play: Play, vars: PlayVars, host: string): void {
    for (const p of tlsVarProblems(vars.view(host))) {
      const at = this.#origins.locate(play, host, p.name);
      if (at) this.#add(at, p.message, host);
    }
  }

  /** A templated `serial`, as the runner renders it when the play starts. */
  #serial(play: Play, index: number, vars: PlayVars, host: string): void {
    const template = play.serialTemplate;
    if (template === undefined) return;
    const raw = (name: string) => this.#origins.raw(play, host, name);
    if (dependsOnRun(templateIdentifiers(template), this.#runtime, raw)) return;
    let why: string;
    try {
      const steps = parseSerial(vars.render(host, template, `play "${play.name}" serial`));
      if (typeof steps !== 'string') return;
      why = `serial ${steps}`;
    } catch (err) {
      why = describe(err);
    }
    const single = SINGLE_VAR.exec(template)?.[1];
    const at = single ? this.#origins.locate(play, host, single) : undefined;
    if (at) this.#add(at, `${why} (the serial of play "${play.name}")`, host);
    else this.#add(this.#origins.inPlaybook([index, 'serial']), `play "${play.name}": ${why}`, host);
  }

  /** A task list's nodes, for one host: every task, every section of a block, each include's file. */
  #nodes(play: Play, vars: PlayVars, host: string, nodes: readonly TaskNode[]): void {
    for (const node of nodes) {
      if (node.kind === 'task') this.#task(play, vars, host, node);
      else if (node.kind === 'block') {
        // Which sections run depends on the run: all of them are checked.
        for (const section of [node.block, node.rescue, node.always]) this.#nodes(play, vars, host, section);
      } else this.#include(play, vars, host, node);
    }
  }

  /**
   * An include_tasks, for one host: its condition (false: nothing to check), its path rendered
   * and its file compiled as the runner would, then the file's tasks. A path built from what
   * the run registers is the run's to read.
   */
  #include(play: Play, vars: PlayVars, host: string, inc: IncludeTasks): void {
    const scoped = vars.forScopes(inc.scopes);
    const raw = (name: string) => this.#raw(play, inc.scopes, undefined, host, name);
    if (!this.#conditionsHold(scoped, host, inc.when, `${inc.name}`, raw)) return;
    let nodes = inc.static;
    if (!nodes) {
      if (dependsOnRun(templateIdentifiers(inc.file), this.#runtime, raw)) return;
      try {
        nodes = compileIncludedFile(inc, includeFile(inc, scoped, host), this.#modules);
      } catch (err) {
        if (err instanceof ConfigError) for (const p of err.problems) this.findings.add(p, host);
        else if (err instanceof TaskFailedError)
          this.#add(locateIn(inc, ['include_tasks']), describe(err), host);
        else throw err;
        return;
      }
      for (const t of leafTasks(nodes)) if (t.register) this.#runtime.add(t.register);
    }
    this.#nodes(play, vars, host, nodes);
  }

  /**
   * Whether `conditions` hold for the host, when the files alone can tell (else true: the task
   * is checked anyway). A condition that cannot be evaluated is reported where it is written
   * (the task's own `when`, or that of the block, import or role around it), and is false here.
   */
  #conditionsHold(
    vars: PlayVars,
    host: string,
    conditions: readonly Condition[],
    what: string,
    raw: (name: string) => unknown,
  ): boolean {
    const names = new Set<string>();
    for (const c of conditions) conditionNames(c.expr, names);
    if (conditions.length === 0 || dependsOnRun(names, this.#runtime, raw)) return true;
    const view = vars.view(host);
    for (const c of conditions) {
      try {
        if (!conditionsHold([c], view)) return false;
      } catch (err) {
        if (!(err instanceof ExpressionError || err instanceof ConfigError)) throw err;
        this.#add(locateIn(c, [], this.#input.playbook.file), `${what}: ${describe(err)}`, host);
        return false;
      }
    }
    return true;
  }

  /**
   * A task, for one host: with a loop, once per item (the items rendered as the runner does),
   * unless the items come from the run.
   */
  #task(play: Play, vars: PlayVars, host: string, task: Task): void {
    if (!this.#modules.has(task.module)) return;
    const scoped = vars.forScopes(task.scopes);
    const loop = task.loop;
    const raw = (name: string) => this.#raw(play, task.scopes, loop, host, name);
    if (!loop || dependsOnRun(templateStrings(loop.items).flatMap(templateIdentifiers), this.#runtime, raw)) {
      this.#taskWith(play, scoped, host, task);
      return;
    }
    let items: unknown[];
    try {
      items = loopItems(task, scoped, host);
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof TaskFailedError)) throw err;
      // The message names the task already (loopItems, or the var that failed to render).
      this.#add(locateIn(task, ['loop']), describe(err), host);
      return;
    }
    items.forEach((item, index) => {
      const itemScope = scoped.withLoop(itemVars(loop, item, index));
      try {
        itemLabel(task, itemScope, host, item);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        this.#add(locateIn(task, ['loop_control', 'label']), `task "${task.name}": ${describe(err)}`, host);
      }
      this.#taskWith(play, itemScope, host, task);
    });
  }

  #taskWith(play: Play, vars: PlayVars, host: string, task: Task): void {
    const module = this.#modules.get(task.module) as AnyModule;
    const raw = (name: string) => this.#raw(play, task.scopes, task.loop, host, name);
    if (!this.#conditionsHold(vars, host, task.when, `task "${task.name}"`, raw)) return;

    // Args that read a registered result are the run's to check; the others are checked now.
    const later = new Set(
      Object.keys(task.args).filter((k) =>
        dependsOnRun(templateStrings(task.args[k]).flatMap(templateIdentifiers), this.#runtime, raw),
      ),
    );
    const now: Record<string, unknown> = {};
    const rendered: Record<string, unknown> = {};
    let renderFailed = false;
    for (const [key, value] of Object.entries(task.args)) {
      if (later.has(key)) continue;
      now[key] = value;
      try {
        rendered[key] = vars.render(host, value, `task "${task.name}" arg ${key}`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        renderFailed = true;
        this.#argProblem(play, host, task, key, describe(err));
      }
    }
    if (renderFailed) return;
    const args = coerceTemplatedArgs(now, rendered, module.argsSchema);
    const validate = objectValidator(module.argsSchema);
    if (!validate(revealSecrets(args))) {
      const errors = (validate.errors ?? []).filter(
        (e) =>
          !(
            e.keyword === 'required' &&
            later.has(String((e.params as { missingProperty?: unknown }).missingProperty))
          ),
      );
      const described = describeAjvErrors(errors, module.argsSchema);
      for (const e of described) {
        const key = String(e.path[0] ?? '');
        this.#argProblem(
          play,
          host,
          task,
          key,
          e.path.length > 1 ? `${e.path.slice(1).join('.')}: ${e.message}` : e.message,
        );
      }
      if (described.length > 0) return;
    }
    this.#localFiles(play, vars, host, task, module.name, withRoleFiles(task, args));
  }

  /**
   * The value a task's var has before rendering, as the runner looks it up: the loop's item
   * (its list, as written), the vars around the task, then the play's layers (VarOrigins).
   */
  #raw(play: Play, scopes: readonly VarScope[], loop: Loop | undefined, host: string, name: string): unknown {
    const own = this.#taskVar(scopes, loop, name);
    return own ? own.value : this.#origins.raw(play, host, name);
  }

  /** Where a task's var is written, the loop's and the task's scopes first (then VarOrigins). */
  #locate(play: Play, task: Task, host: string, name: string): SourceLocation | undefined {
    const own = this.#taskVar(task.scopes, task.loop, name);
    return own ? own.at : this.#origins.locate(play, host, name);
  }

  /** A var set by the loop or the scopes around a task, unless an extra var (above them) wins. */
  #taskVar(
    scopes: readonly VarScope[],
    loop: Loop | undefined,
    name: string,
  ): { value: unknown; at: SourceLocation } | undefined {
    if (loop && (name === loop.loopVar || name === loop.indexVar)) {
      return { value: name === loop.loopVar ? loop.items : 0, at: locateIn(loop, []) };
    }
    if (Object.hasOwn(this.#extraVars, name)) return undefined;
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i] as VarScope;
      if (Object.hasOwn(scope.vars, name)) return { value: scope.vars[name], at: locateIn(scope, [name]) };
    }
    return undefined;
  }

  /**
   * A bad arg, reported where its value is written: the var it is (`"{{ consul_x }}"`), the one
   * var of the inventory or the command line it is built from, else the task's arg itself.
   */
  #argProblem(play: Play, host: string, task: Task, key: string, why: string): void {
    if (key === '') {
      this.#add(locateIn(task, [task.module]), `task "${task.name}": ${why}`, host);
      return;
    }
    const raw = task.args[key];
    const single = typeof raw === 'string' ? SINGLE_VAR.exec(raw)?.[1] : undefined;
    const user = templateStrings(raw)
      .flatMap(templateIdentifiers)
      .filter(
        (id, i, all) =>
          all.indexOf(id) === i &&
          !MAGIC.has(id) &&
          !this.#taskVar(task.scopes, task.loop, id) &&
          this.#origins.fromUser(play, host, id),
      );
    const name = single ?? (user.length === 1 ? user[0] : undefined);
    const at = name ? this.#locate(play, task, host, name) : undefined;
    if (at) this.#add(at, `${why} (${key} of task "${task.name}")`, host);
    else this.#add(locateIn(task, [task.module, key]), `task "${task.name}": ${key}: ${why}`, host);
  }

  /** The local files the module will read: confined, present, and a template renders and validates. */
  #localFiles(
    play: Play,
    vars: PlayVars,
    host: string,
    task: Task,
    module: string,
    args: Record<string, unknown>,
  ): void {
    const spec = LOCAL_FILES[module];
    if (!spec) return;
    const files = new Map<string, string>();
    for (const key of spec.files) {
      // A path built from a secret is a Secret: the module gets its clear text, and so does the check.
      const value: unknown = revealSecrets(args[key]) ?? spec.defaults?.[key];
      if (typeof value !== 'string') continue;
      const found = this.#files.resolve(value);
      if ('problem' in found) {
        this.#argProblem(play, host, task, key, found.problem);
        return;
      }
      files.set(key, found.file);
    }
    const templateFile = spec.template ? files.get(spec.template) : undefined;
    if (!spec.template || !templateFile) return;
    const src = String(revealSecrets(args[spec.template]));
    const source = this.#files.read(templateFile);
    const renderKey = `${templateFile}\u0000${host}`;
    if (!this.#rendered.has(renderKey)) {
      try {
        this.#rendered.set(renderKey, renderTemplate(source, vars.view(host), { name: src, reveal: true }));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        this.#rendered.set(renderKey, undefined);
        // A problem that names a var's own key (`consul_config_extra.datacenter: ...`) is that var's.
        const named = [...err.message.matchAll(/\b([a-z][a-z0-9_]*)\.[A-Za-z0-9_.]+: /g)]
          .map((m) => m[1] ?? '')
          .find((name) => vars.view(host)[name] !== undefined);
        const origin = named ? this.#locate(play, task, host, named) : undefined;
        if (origin && named) this.#add(origin, err.message.slice(err.message.indexOf(`${named}.`)), host);
        else this.#argProblem(play, host, task, spec.template, describe(err));
      }
    }
    const content = this.#rendered.get(renderKey);
    const schemaFile = spec.schema ? files.get(spec.schema) : undefined;
    if (content === undefined || !schemaFile) return;
    const validatedKey = `${renderKey}\u0000${schemaFile}`;
    if (this.#validated.has(validatedKey)) return;
    this.#validated.add(validatedKey);
    const what = isAgentSchema(schemaFile) ? 'the Consul agent config' : src;
    for (const p of renderedProblems(content, src, schemaFile)) {
      const origin = this.#configOrigin(play, task, vars, host, source, content, p.path);
      const where = p.path ? `${p.path} in ${what}` : what;
      if (origin) this.#add(origin, `${p.message} (${where})`, host);
      else
        this.#add(
          {
            file: src,
            ...(p.line ? { line: p.line, column: p.column } : {}),
            ...(p.path ? { path: p.path } : {}),
          },
          p.message,
          host,
        );
    }
  }

  /**
   * Which var of this host a bad value of a rendered config came from: among the vars the
   * template names, the one whose value it is (its name ending in the key's, when several are:
   * `log_level` is consul_log_level), located where it is written.
   */
  #configOrigin(
    play: Play,
    task: Task,
    vars: PlayVars,
    host: string,
    source: string,
    content: string,
    path: string | undefined,
  ): SourceLocation | undefined {
    if (!path) return undefined;
    let value: unknown;
    try {
      value = valueAt(JSON.parse(content) as unknown, path);
    } catch {
      return undefined;
    }
    if (value === undefined) return undefined;
    const key = /([A-Za-z0-9_]+)(?:\[\d+\])*$/.exec(path)?.[1] ?? path;
    const matches: string[] = [];
    // A value the template built around a var (`"127.0.0.1 {{bind_addr}}"`): that var, failing exact ones.
    const within: string[] = [];
    // A mapping merged into the config (consul_config_extra) that holds this very path and value.
    const holders: string[] = [];
    for (const name of templateIdentifiers(source)) {
      if (MAGIC.has(name) || name.startsWith('drover_')) continue;
      let v: unknown;
      try {
        v = revealSecrets(vars.view(host)[name]);
      } catch {
        continue;
      }
      if (v === undefined || v === '') continue;
      if (
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        isDeepStrictEqual(valueAt(v, path), value)
      )
        holders.push(name);
      if (isDeepStrictEqual(v, value)) matches.push(name);
      else if (typeof v === 'string' && typeof value === 'string' && value.includes(v)) within.push(name);
    }
    const best =
      holders[0] ??
      matches.find((n) => n === key || n.endsWith(`_${key}`)) ??
      matches[0] ??
      (within.length === 1 ? within[0] : undefined);
    // inventory_hostname names the node when consul_node_name is empty: the host's entry is the place.
    if (!best && key === 'node_name' && value === host)
      return this.#origins.locate(play, host, 'inventory_hostname');
    return best ? this.#locate(play, task, host, best) : undefined;
  }
}

/** The agent config schema drover ships, as LocalFiles names files (links resolved). */
let agentSchemaFile: string | undefined;

function isAgentSchema(schemaFile: string): boolean {
  agentSchemaFile ??= realpathSync(join(SCHEMAS_DIR, AGENT_CONFIG_SCHEMA));
  return schemaFile === agentSchemaFile;
}

/** A rendered file's problems against its schema; the agent config with Consul's wording. */
function renderedProblems(content: string, src: string, schemaFile: string): ConfigProblem[] {
  if (isAgentSchema(schemaFile)) return agentConfigProblems(content, src);
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    return [{ file: src, message: 'the rendered text is not valid JSON' }];
  }
  const validate = schemaValidator(schemaFile);
  if (validate(doc)) return [];
  return describeAjvErrors(validate.errors ?? [], schemaDocument(schemaFile)).map(({ path, message }) => ({
    file: src,
    path: path
      .map((p) => (typeof p === 'number' ? `[${p}]` : p))
      .join('.')
      .replace(/\.\[/g, '['),
    message,
  }));
}

/** `performance.raft_multiplier`, `retry_join[1]` in a parsed config. */
function valueAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const seg of path.split(/\.|(?=\[)/)) {
    if (node === null || typeof node !== 'object') return undefined;
    const index = /^\[(\d+)\]$/.exec(seg);
    node = index ? (node as unknown[])[Number(index[1])] : (node as Record<string, unknown>)[seg];
  }
  return node;
}

/**
 * The inventory with the groups a playbook's `group_by` tasks make, each holding every host of
 * the plays that make it: which hosts will join is known only during the run, so the later plays
 * are checked on every host that could. `dynamicKeys` when some key is templated (its group's
 * name is unknown, so a play pattern naming no known group is not an error).
 */
function withDynamicGroups(
  inventory: Inventory,
  playbook: Playbook,
): { view: Inventory; dynamicKeys: boolean } {
  const groups = new Map<string, Group>(inventory.groups);
  let dynamicKeys = false;
  for (const { play, key } of groupByTasks(playbook)) {
    if (key === undefined) {
      dynamicKeys = true;
      continue;
    }
    let hosts: string[];
    try {
      hosts = selectHosts(inventory, play.hosts);
    } catch {
      continue;
    }
    const old = groups.get(key)?.hosts ?? [];
    const all = new Set([...old, ...hosts]);
    const ordered = [...inventory.hosts.keys()].filter((h) => all.has(h));
    groups.set(key, { name: key, vars: {}, children: [], directHosts: ordered, hosts: ordered });
  }
  return { view: { ...inventory, groups }, dynamicKeys };
}

function describe(err: unknown): string {
  if (err instanceof ConfigError) return err.problems.map((p) => p.message).join('; ');
  return err instanceof Error ? err.message : String(err);
}
