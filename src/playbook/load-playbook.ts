import { describeAjvErrors, objectValidator, validateYaml } from '../config/schema.js';
import { loadYamlFile, parseYaml, type DocPath, type YamlFile } from '../config/yaml-file.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { isTemplated } from '../template/render.js';
import { compileConditions, type Condition } from './expression.js';
import type { AnyModule } from '../modules/module.js';
import type { ModuleMap } from './module-map.js';
import { withGroupBy } from './group-by.js';
import { parseSerial } from './serial.js';
import type { Play, Playbook, SerialStep, Task } from './types.js';

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
]);

/** Ansible's defaults for `until` loops (lib/ansible/playbook/task.py). */
const DEFAULT_RETRIES = 3;
const DEFAULT_DELAY_SECONDS = 5;

/** Reads, validates and compiles a playbook file; every problem found is reported at once. */
export async function loadPlaybook(file: string, modules: ModuleMap): Promise<Playbook> {
  return parsePlaybook(await loadYamlFile(file), modules);
}

/** Same as loadPlaybook, from text already in memory (tests, stdin). */
export function parsePlaybookText(text: string, file: string, modules: ModuleMap): Playbook {
  return parsePlaybook(parseYaml(text, file), modules);
}

export function parsePlaybook(yaml: YamlFile, modules: ModuleMap): Playbook {
  const schemaProblems = validateYaml('playbook.schema.json', yaml);
  if (schemaProblems.length > 0) throw new ConfigError(schemaProblems);
  const known = withGroupBy(modules);
  const problems: ConfigProblem[] = [];
  const plays = (yaml.value as Record<string, unknown>[]).map((raw, i) =>
    compilePlay(raw, [i], { yaml, known, problems }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  const playbook: Playbook = { file: yaml.file, plays };
  sources.set(playbook, yaml);
  return playbook;
}

/** The parsed file of each loaded playbook, for locating what is found wrong in it later. */
const sources = new WeakMap<Playbook, YamlFile>();

/**
 * Where something of a loaded playbook is written (`[0, 'defaults', 'consul_log_level']`,
 * `[0, 'tasks', 3, 'template', 'src']`): the check of a run's input before any connection names
 * the line of a bad default or arg. Undefined for playbooks not loaded from YAML.
 */
export function playbookSource(playbook: Playbook): YamlFile | undefined {
  return sources.get(playbook);
}

interface Scope {
  yaml: YamlFile;
  known: ReadonlyMap<string, AnyModule>;
  problems: ConfigProblem[];
}

function compilePlay(raw: Record<string, unknown>, path: DocPath, scope: Scope): Play {
  const hosts = raw['hosts'] as string;
  const playTags = asList(raw['tags']);
  const handlers = ((raw['handlers'] ?? []) as Record<string, unknown>[]).map((h, i) =>
    compileTask(h, [...path, 'handlers', i], playTags, scope),
  );
  const handlerNames = new Set<string>();
  handlers.forEach((h, i) => {
    if (handlerNames.has(h.name)) {
      scope.problems.push(
        scope.yaml.problem([...path, 'handlers', i, 'name'], `duplicate handler name "${h.name}"`),
      );
    }
    handlerNames.add(h.name);
  });
  const tasks = ((raw['tasks'] ?? []) as Record<string, unknown>[]).map((t, i) =>
    compileTask(t, [...path, 'tasks', i], playTags, scope),
  );
  // Every notify must name a handler of the same play: a typo would otherwise silently never restart.
  for (const [list, key] of [
    [tasks, 'tasks'],
    [handlers, 'handlers'],
  ] as const) {
    list.forEach((t, i) => {
      for (const n of t.notify) {
        if (!handlerNames.has(n)) {
          scope.problems.push(
            scope.yaml.problem(
              [...path, key, i, 'notify'],
              `task "${t.name}": notifies "${n}", but the play has no handler with that name`,
            ),
          );
        }
      }
    });
  }
  const maxFail = raw['max_fail_percentage'];
  const serialTemplate =
    typeof raw['serial'] === 'string' && isTemplated(raw['serial']) ? raw['serial'] : undefined;
  const order = raw['order'];
  return {
    name: typeof raw['name'] === 'string' ? raw['name'] : hosts,
    hosts,
    defaults: (raw['defaults'] ?? {}) as Vars,
    vars: (raw['vars'] ?? {}) as Vars,
    serial: serialTemplate ? [] : compileSerial(raw['serial'], [...path, 'serial'], scope),
    ...(serialTemplate ? { serialTemplate } : {}),
    ...(typeof order === 'string' ? { order } : {}),
    ...(typeof maxFail === 'number' ? { maxFailPercentage: maxFail } : {}),
    anyErrorsFatal: raw['any_errors_fatal'] === true,
    tasks,
    handlers,
    location: locationOf(scope.yaml, path),
  };
}

function compileSerial(raw: unknown, path: DocPath, scope: Scope): SerialStep[] {
  if (raw === undefined) return [];
  const steps = Array.isArray(raw) ? raw : [raw];
  return steps.map((step, i) => {
    const parsed = parseSerial(step);
    if (typeof parsed === 'string') {
      scope.problems.push(scope.yaml.problem(Array.isArray(raw) ? [...path, i] : path, `serial ${parsed}`));
      return { percent: 0 };
    }
    return parsed[0] as SerialStep;
  });
}

function compileTask(raw: Record<string, unknown>, path: DocPath, playTags: string[], scope: Scope): Task {
  const { yaml, known, problems } = scope;
  const moduleKeys = Object.keys(raw).filter((k) => !TASK_KEYS.has(k));
  const label =
    typeof raw['name'] === 'string' ? raw['name'] : (moduleKeys[0] ?? `task ${formatIndex(path)}`);
  const problem = (sub: DocPath, message: string) =>
    problems.push(yaml.problem([...path, ...sub], `task "${label}": ${message}`));

  const modules = moduleKeys.filter((k) => known.has(k));
  for (const key of moduleKeys.filter((k) => !known.has(k))) {
    const value = raw[key];
    // A mapping (or empty value) in module position is a module we do not have; anything else is a misspelled key.
    if (value === null || (typeof value === 'object' && !Array.isArray(value))) {
      problem(
        [key],
        `unknown module "${key}" (known modules: ${[...known.keys()].sort().join(', ') || 'none'})`,
      );
    } else {
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
    if (raw[key] === undefined) return undefined;
    try {
      return compileConditions(raw[key]);
    } catch (err) {
      problem([key], err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  const until = conditions('until');
  const changedWhen = conditions('changed_when');
  const failedWhen = conditions('failed_when');
  const register = raw['register'];
  return {
    name: label,
    module: moduleName,
    args,
    when: conditions('when') ?? [],
    ...(typeof register === 'string' ? { register } : {}),
    notify: asList(raw['notify']),
    tags: [...new Set([...playTags, ...asList(raw['tags'])])],
    retries: typeof raw['retries'] === 'number' ? raw['retries'] : DEFAULT_RETRIES,
    delay: typeof raw['delay'] === 'number' ? raw['delay'] : DEFAULT_DELAY_SECONDS,
    ...(until ? { until } : {}),
    ignoreErrors: raw['ignore_errors'] === true,
    ...(changedWhen ? { changedWhen } : {}),
    ...(failedWhen ? { failedWhen } : {}),
    runInCheckMode: raw['check_mode'] === false,
    ...(raw['check_mode'] === true ? { alwaysCheckMode: true } : {}),
    runOnce: raw['run_once'] === true,
    location: locationOf(yaml, path),
  };
}

const asList = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

export function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return isTemplated(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsTemplate);
  return false;
}

function locationOf(yaml: YamlFile, path: DocPath) {
  const at = yaml.locate(path);
  return { file: yaml.file, ...(at ? { line: at.line, column: at.column } : {}) };
}

const formatIndex = (path: DocPath): string => path.filter((p) => typeof p === 'number').join('.');
