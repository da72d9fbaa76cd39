import { describeAjvErrors, objectValidator } from '../config/schema.js';
import type { DocPath, YamlFile } from '../config/yaml-file.js';
import type { ConfigProblem, SourceLocation } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import type { AnyModule } from '../modules/module.js';
import { isTemplated } from '../template/render.js';
import { compileConditions, type Condition } from './expression.js';
import { setPlace } from './source.js';
import type { Inherited, Loop, Task, VarScope } from './types.js';

/** What every part of one playbook's compilation shares. */
export interface Compile {
  readonly known: ReadonlyMap<string, AnyModule>;
  readonly problems: ConfigProblem[];
}

/** Where a task list is written and what its tasks get from around it. */
export interface ListScope {
  readonly yaml: YamlFile;
  readonly inherit: Inherited;
  /** The files being compiled around this list (resolved paths), outermost first. */
  readonly chain: readonly string[];
  /** The play's handler names: every notify must name one. */
  readonly handlers: ReadonlySet<string>;
  /** A play's `handlers:` (or a role's): plain tasks only. */
  readonly handlerList?: boolean;
}

/** Keys a task may carry besides its one module key. */
const TASK_KEYS = new Set([
  'name',
  'when',
  'register',
  'notify',
  'tags',
  'retries',
  'delay',
  'until',
  'ignore_errors',
  'changed_when',
  'failed_when',
  'check_mode',
  'run_once',
  'loop',
  'loop_control',
  'vars',
]);

/** Keys of the other things a task list holds, which a plain task cannot have. */
const NOT_A_TASK: Readonly<Record<string, string>> = {
  rescue: '"rescue" belongs to a block: put the tasks it rescues under "block:" beside it',
  always: '"always" belongs to a block: put the tasks it follows under "block:" beside it',
  apply: '"apply" belongs to include_tasks',
};

/** What a task list holds besides tasks (task-list.ts); a list of handlers holds none of them. */
const LIST_ENTRIES = ['block', 'import_tasks', 'include_tasks'];

/** Ansible's defaults for `until` loops (lib/ansible/playbook/task.py). */
const DEFAULT_RETRIES = 3;
const DEFAULT_DELAY_SECONDS = 5;

/** Compiles one module task (or handler): its module and args, conditions, loop, and what it inherits. */
export function compileTask(raw: Record<string, unknown>, path: DocPath, scope: ListScope, c: Compile): Task {
  const { yaml, inherit } = scope;
  const { known, problems } = c;
  const moduleKeys = Object.keys(raw).filter((k) => !TASK_KEYS.has(k) && !(k in NOT_A_TASK));
  const label =
    typeof raw['name'] === 'string' ? raw['name'] : (moduleKeys[0] ?? `task ${formatIndex(path)}`);
  const problem = (sub: DocPath, message: string) =>
    problems.push(yaml.problem([...path, ...sub], `task "${label}": ${message}`));

  for (const key of Object.keys(raw)) {
    const why = NOT_A_TASK[key];
    if (why) problem([key], why);
  }
  const listEntries = scope.handlerList ? LIST_ENTRIES.filter((k) => k in raw) : [];
  for (const key of listEntries)
    problem([key], `a handler is one task: "${key}" is not allowed among handlers`);
  const modules = moduleKeys.filter((k) => known.has(k));
  for (const key of moduleKeys.filter((k) => !known.has(k))) {
    const value = raw[key];
    // A mapping (or empty value) in module position is a module we do not have; anything else is a misspelled key.
    if (value === null || (typeof value === 'object' && !Array.isArray(value))) {
      problem(
        [key],
        `unknown module "${key}" (known modules: ${[...known.keys()].sort().join(', ') || 'none'})`,
      );
    } else if (!listEntries.includes(key)) {
      problem([key], `unknown key "${key}"`);
    }
  }
  if (modules.length > 1) problem([modules[1] as string], `has more than one module: ${modules.join(', ')}`);
  if (moduleKeys.length === 0) problem([], 'names no module');

  const moduleName = modules[0] ?? moduleKeys[0] ?? '';
  const rawArgs = moduleName ? raw[moduleName] : undefined;
  let args: Record<string, unknown> = {};
  if (rawArgs !== undefined && rawArgs !== null) {
    if (typeof rawArgs === 'object' && !Array.isArray(rawArgs)) args = rawArgs as Record<string, unknown>;
    else if (modules.length > 0)
      problem([moduleName], `the args of module "${moduleName}" must be a mapping`);
  }
  // Validate now what templating cannot change; templated args are validated per host at run time.
  const module = known.get(moduleName);
  if (module && !containsTemplate(args)) {
    const validate = objectValidator(module.argsSchema);
    if (!validate(args)) {
      for (const e of describeAjvErrors(validate.errors ?? [])) {
        problem([moduleName, ...e.path], `module "${moduleName}": ${e.message}`);
      }
    }
  }

  const conditions = (key: string): Condition[] | undefined => {
    try {
      return placedConditions(raw[key], yaml, [...path, key]);
    } catch (err) {
      problem([key], err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  const until = conditions('until');
  const changedWhen = conditions('changed_when');
  const failedWhen = conditions('failed_when');
  const register = raw['register'];
  const notify = asList(raw['notify']);
  for (const n of notify) {
    // A typo would otherwise silently never restart.
    if (!scope.handlers.has(n))
      problem(['notify'], `notifies "${n}", but the play has no handler with that name`);
  }
  const loop = compileLoop(raw, problem);
  if (loop) setPlace(loop, { yaml, path: [...path, 'loop'] });
  const checkMode = typeof raw['check_mode'] === 'boolean' ? raw['check_mode'] : inherit.checkMode;
  const task: Task = {
    kind: 'task',
    // Ansible's `role : task`; a handler keeps its name, which notify names.
    name:
      inherit.role && !scope.handlerList && typeof raw['name'] === 'string'
        ? `${inherit.role.name} : ${label}`
        : label,
    module: moduleName,
    args,
    when: [...inherit.when, ...(conditions('when') ?? [])],
    ...(typeof register === 'string' ? { register } : {}),
    notify,
    tags: unionTags(inherit.tags, raw['tags']),
    retries: typeof raw['retries'] === 'number' ? raw['retries'] : DEFAULT_RETRIES,
    delay: typeof raw['delay'] === 'number' ? raw['delay'] : DEFAULT_DELAY_SECONDS,
    ...(until ? { until } : {}),
    ignoreErrors:
      typeof raw['ignore_errors'] === 'boolean' ? raw['ignore_errors'] : (inherit.ignoreErrors ?? false),
    ...(changedWhen ? { changedWhen } : {}),
    ...(failedWhen ? { failedWhen } : {}),
    runInCheckMode: checkMode === false,
    ...(checkMode === true ? { alwaysCheckMode: true } : {}),
    runOnce: raw['run_once'] === true,
    ...(loop ? { loop } : {}),
    scopes: withScope(inherit.scopes, raw['vars'], yaml, [...path, 'vars']),
    ...(inherit.role ? { role: inherit.role } : {}),
    location: locationOf(yaml, path),
  };
  setPlace(task, { yaml, path });
  return task;
}

function compileLoop(raw: Record<string, unknown>, problem: (sub: DocPath, message: string) => void) {
  const control = (raw['loop_control'] ?? {}) as Record<string, unknown>;
  if (raw['loop'] === undefined) {
    if (raw['loop_control'] !== undefined) problem(['loop_control'], 'loop_control needs a loop');
    return undefined;
  }
  if (typeof raw['loop'] === 'string' && !isTemplated(raw['loop'])) {
    problem(['loop'], 'a loop is a list, or a template that renders to one ("{{ servers }}")');
  }
  const loop: Loop = {
    items: raw['loop'],
    loopVar: typeof control['loop_var'] === 'string' ? control['loop_var'] : 'item',
    ...(typeof control['index_var'] === 'string' ? { indexVar: control['index_var'] } : {}),
    ...(typeof control['label'] === 'string' ? { label: control['label'] } : {}),
  };
  if (loop.indexVar === loop.loopVar)
    problem(['loop_control', 'index_var'], `index_var and loop_var are both "${loop.loopVar}"`);
  return loop;
}

/**
 * A `when`-style value compiled, each condition remembering where it is written: a task's
 * conditions include those of the blocks, imports and role around it, and a problem with one
 * is reported where that one is written.
 */
export function placedConditions(value: unknown, yaml: YamlFile, path: DocPath): Condition[] | undefined {
  if (value === undefined) return undefined;
  const compiled = compileConditions(value);
  for (const c of compiled) setPlace(c, { yaml, path });
  return compiled;
}

/** The scopes around, plus `vars` when given (placed, for messages). */
export function withScope(
  scopes: readonly VarScope[],
  vars: unknown,
  yaml: YamlFile,
  path: DocPath,
): readonly VarScope[] {
  if (vars === undefined || vars === null) return scopes;
  const scope: VarScope = { vars: vars as Vars };
  setPlace(scope, { yaml, path });
  return [...scopes, scope];
}

/** Tags around, plus a `tags` value (a string or a list), each once. */
export const unionTags = (around: readonly string[], own: unknown): string[] => [
  ...new Set([...around, ...asList(own)]),
];

export const asList = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

export function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return isTemplated(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsTemplate);
  return false;
}

export function locationOf(yaml: YamlFile, path: DocPath): SourceLocation {
  const at = yaml.locate(path);
  return { file: yaml.file, ...(at ? { line: at.line, column: at.column } : {}) };
}

const formatIndex = (path: DocPath): string => path.filter((p) => typeof p === 'number').join('.');
