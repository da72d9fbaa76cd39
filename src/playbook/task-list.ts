import { dirname, resolve } from 'node:path';
import type { DocPath, YamlFile } from '../config/yaml-file.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { AnyModule } from '../modules/module.js';
import { isTemplated } from '../template/render.js';
import {
  compileTask,
  locationOf,
  placedConditions,
  unionTags,
  withScope,
  type Compile,
  type ListScope,
} from './compile-task.js';
import type { Condition } from './expression.js';
import { besideFile, inFolder, readYamlSync, validatePart } from './files.js';
import { locateIn, setPlace } from './source.js';
import type { Block, IncludeTasks, Inherited, TaskNode } from './types.js';

/**
 * A task list: module tasks, `block`s, `import_tasks` (expanded here, the imported tasks given
 * the import's `when`, `tags` and `vars`) and `include_tasks` (kept as a node the runner expands
 * per host; a plain path is compiled now all the same, so its problems are found before any
 * connection). See docs/playbooks.md, "Reuse".
 */
export function compileTaskList(raw: unknown, path: DocPath, scope: ListScope, c: Compile): TaskNode[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item, i) => compileNode(item as Record<string, unknown>, [...path, i], scope, c));
}

function compileNode(raw: Record<string, unknown>, path: DocPath, scope: ListScope, c: Compile): TaskNode[] {
  if ('block' in raw) return [compileBlock(raw, path, scope, c)];
  if ('import_tasks' in raw) return importTasks(raw, path, scope, c);
  if ('include_tasks' in raw) return [includeTasks(raw, path, scope, c)];
  return [compileTask(raw, path, scope, c)];
}

/** The conditions of a block, an import or an include, or none when they do not compile (reported). */
function ownConditions(
  raw: Record<string, unknown>,
  path: DocPath,
  what: string,
  scope: ListScope,
  c: Compile,
) {
  try {
    return placedConditions(raw['when'], scope.yaml, [...path, 'when']) ?? [];
  } catch (err) {
    c.problems.push(scope.yaml.problem([...path, 'when'], `${what}: ${(err as Error).message}`));
    return [];
  }
}

/** What the tasks inside get: the conditions, tags and vars around, plus these. */
function inside(
  scope: ListScope,
  own: { when: readonly Condition[]; tags: unknown; vars: unknown; at: DocPath },
) {
  const inherit = scope.inherit;
  return {
    ...inherit,
    when: [...inherit.when, ...own.when],
    tags: unionTags(inherit.tags, own.tags),
    scopes: withScope(inherit.scopes, own.vars, scope.yaml, [...own.at, 'vars']),
  };
}

function compileBlock(raw: Record<string, unknown>, path: DocPath, scope: ListScope, c: Compile): Block {
  const name = typeof raw['name'] === 'string' ? raw['name'] : 'block';
  const when = ownConditions(raw, path, `block "${name}"`, scope, c);
  const inherit: Inherited = {
    ...inside(scope, { when, tags: raw['tags'], vars: raw['vars'], at: path }),
    ...(typeof raw['ignore_errors'] === 'boolean' ? { ignoreErrors: raw['ignore_errors'] } : {}),
    ...(typeof raw['check_mode'] === 'boolean' ? { checkMode: raw['check_mode'] } : {}),
  };
  const within = { ...scope, inherit };
  const block: Block = {
    kind: 'block',
    name,
    block: compileTaskList(raw['block'], [...path, 'block'], within, c),
    rescue: compileTaskList(raw['rescue'], [...path, 'rescue'], within, c),
    always: compileTaskList(raw['always'], [...path, 'always'], within, c),
    location: locationOf(scope.yaml, path),
  };
  setPlace(block, { yaml: scope.yaml, path });
  return block;
}

/** `import_tasks`: the file's tasks in its place, each with the import's `when`, `tags` and `vars`. */
function importTasks(raw: Record<string, unknown>, path: DocPath, scope: ListScope, c: Compile): TaskNode[] {
  const file = String(raw['import_tasks']);
  const what = `import_tasks "${file}"`;
  if (isTemplated(file)) {
    c.problems.push(
      scope.yaml.problem(
        [...path, 'import_tasks'],
        `${what}: an import is read when the playbook loads, before any var has a value; use include_tasks for a templated path`,
      ),
    );
    return [];
  }
  const when = ownConditions(raw, path, what, scope, c);
  const read = readPart(besideFile(scope.yaml.file, file), scope.chain, 'tasks');
  if ('problem' in read) {
    c.problems.push(scope.yaml.problem([...path, 'import_tasks'], `${what}: ${read.problem}`));
    return [];
  }
  if ('problems' in read) {
    c.problems.push(...read.problems);
    return [];
  }
  const inherit = inside(scope, { when, tags: raw['tags'], vars: raw['vars'], at: path });
  return compileTaskList(read.yaml.value, [], { ...scope, yaml: read.yaml, inherit, chain: read.chain }, c);
}

function includeTasks(
  raw: Record<string, unknown>,
  path: DocPath,
  scope: ListScope,
  c: Compile,
): IncludeTasks {
  const file = String(raw['include_tasks']);
  const name = typeof raw['name'] === 'string' ? raw['name'] : `include_tasks ${file}`;
  const when = ownConditions(raw, path, `include_tasks "${file}"`, scope, c);
  const scopes = withScope(scope.inherit.scopes, raw['vars'], scope.yaml, [...path, 'vars']);
  const apply = (raw['apply'] ?? {}) as Record<string, unknown>;
  const include: { -readonly [K in keyof IncludeTasks]: IncludeTasks[K] } = {
    kind: 'include',
    name,
    file,
    dir: dirname(scope.yaml.file),
    when: [...scope.inherit.when, ...when],
    tags: unionTags(scope.inherit.tags, raw['tags']),
    scopes,
    // Ansible: the include's own `when` and `tags` are the include's; `apply` gives tags to the tasks.
    inherit: { ...scope.inherit, tags: unionTags(scope.inherit.tags, apply['tags']), scopes },
    handlers: [...scope.handlers],
    chain: scope.chain,
    location: locationOf(scope.yaml, path),
  };
  setPlace(include, { yaml: scope.yaml, path });
  if (isTemplated(file)) return include;
  try {
    include.static = compileIncludedFile(include, file, c.known);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    c.problems.push(...err.problems);
  }
  return include;
}

/** Compiled included files, per include and path: every host and every check asks the same few. */
const included = new WeakMap<IncludeTasks, Map<string, TaskNode[] | ConfigError>>();

/**
 * The tasks of the file an include names (`file` as rendered for a host, relative to the
 * include's own file), compiled as the include's tasks. Throws a ConfigError located where the
 * include is (file not found, a cycle) or in the file (what is wrong in it).
 */
export function compileIncludedFile(
  include: IncludeTasks,
  file: string,
  known: ReadonlyMap<string, AnyModule>,
): TaskNode[] {
  const path = inFolder(include.dir, file);
  let byPath = included.get(include);
  if (!byPath) included.set(include, (byPath = new Map()));
  let found = byPath.get(path);
  if (!found) {
    found = compileIncluded(include, path, known);
    byPath.set(path, found);
  }
  if (found instanceof ConfigError) throw found;
  return found;
}

function compileIncluded(
  include: IncludeTasks,
  file: string,
  known: ReadonlyMap<string, AnyModule>,
): TaskNode[] | ConfigError {
  const read = readPart(file, include.chain, 'tasks');
  if ('problem' in read) {
    return new ConfigError([
      {
        ...locateIn(include, ['include_tasks'], file),
        message: `include_tasks "${include.file}": ${read.problem}`,
      },
    ]);
  }
  if ('problems' in read) return new ConfigError(read.problems);
  const c: Compile = { known, problems: [] };
  const nodes = compileTaskList(
    read.yaml.value,
    [],
    { yaml: read.yaml, inherit: include.inherit, chain: read.chain, handlers: new Set(include.handlers) },
    c,
  );
  return c.problems.length > 0 ? new ConfigError(c.problems) : nodes;
}

/**
 * One file that holds part of a play, read and checked: the file, and the chain of files with
 * it; `problem` when it cannot be used where it is named (not found, a cycle), `problems` when
 * what it holds is wrong (located in it).
 */
export function readPart(
  file: string,
  chain: readonly string[],
  part: 'tasks' | 'handlers' | 'defaults',
): { yaml: YamlFile; chain: string[] } | { problem: string } | { problems: ConfigProblem[] } {
  const full = resolve(file);
  if (chain.includes(full)) {
    const from = chain.indexOf(full);
    return { problem: `a cycle: ${[...chain.slice(from), full].join(' -> ')}` };
  }
  let read: ReturnType<typeof readYamlSync>;
  try {
    read = readYamlSync(file);
  } catch (err) {
    if (err instanceof ConfigError) return { problems: [...err.problems] };
    throw err;
  }
  if ('missing' in read) return { problem: read.missing };
  const problems = validatePart(read.yaml, part);
  if (problems.length > 0) return { problems };
  return { yaml: nullAsEmpty(read.yaml, part), chain: [...chain, full] };
}

/** An empty file (YAML null) as the empty list or mapping it stands for. */
function nullAsEmpty(yaml: YamlFile, part: string): YamlFile {
  if (yaml.value !== null && yaml.value !== undefined) return yaml;
  return { ...yaml, value: part === 'defaults' ? {} : [] };
}
