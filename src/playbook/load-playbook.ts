import { resolve } from 'node:path';
import { validateYaml } from '../config/schema.js';
import { loadYamlFile, parseYaml, type DocPath, type YamlFile } from '../config/yaml-file.js';
import { ConfigError } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { isTemplated } from '../template/render.js';
import { asList, compileTask, locationOf, type Compile, type ListScope } from './compile-task.js';
import { besideFile, readYamlSync } from './files.js';
import type { ModuleMap } from './module-map.js';
import { withGroupBy } from './group-by.js';
import { leafTasks } from './nodes.js';
import { compileRoleHandlers, compileRoleTasks, findRoles, roleDefaults, roleHandlerNames } from './roles.js';
import { parseSerial } from './serial.js';
import { placeOf, setPlace, type Place } from './source.js';
import { compileTaskList } from './task-list.js';
import type { Play, Playbook, SerialStep } from './types.js';

export { containsTemplate } from './compile-task.js';

/** Reads, validates and compiles a playbook file; every problem found is reported at once. */
export async function loadPlaybook(file: string, modules: ModuleMap): Promise<Playbook> {
  return parsePlaybook(await loadYamlFile(file), modules);
}

/** Same as loadPlaybook, from text already in memory (tests, stdin). */
export function parsePlaybookText(text: string, file: string, modules: ModuleMap): Playbook {
  return parsePlaybook(parseYaml(text, file), modules);
}

/**
 * Compiles a playbook: its plays, those of the playbooks it imports (`import_playbook`, relative
 * to the importing file) in their place, each play's roles, task files and blocks. Files named
 * by the playbook are read now; a file that is missing, or that imports itself again, is a
 * problem where it is named.
 */
export function parsePlaybook(yaml: YamlFile, modules: ModuleMap): Playbook {
  const c: Compile = { known: withGroupBy(modules), problems: [] };
  const plays: Play[] = [];
  const roleDefaultPlaces = new Map<Play, Map<string, Place>>();
  compileFile(yaml, [resolve(yaml.file)], [], { c, plays, roleDefaultPlaces });
  if (c.problems.length > 0) throw new ConfigError(c.problems);
  const playbook: Playbook = { file: yaml.file, plays };
  sources.set(playbook, playbookDocument(yaml, plays, roleDefaultPlaces));
  return playbook;
}

interface Book {
  c: Compile;
  plays: Play[];
  roleDefaultPlaces: Map<Play, Map<string, Place>>;
}

/** One playbook file's plays (and those it imports), after the tags of the imports around it. */
function compileFile(yaml: YamlFile, chain: readonly string[], tags: readonly string[], book: Book): void {
  const schemaProblems = validateYaml('playbook.schema.json', yaml);
  if (schemaProblems.length > 0) {
    book.c.problems.push(...schemaProblems);
    return;
  }
  (yaml.value as Record<string, unknown>[]).forEach((raw, i) => {
    if ('import_playbook' in raw) importPlaybook(raw, yaml, [i], chain, tags, book);
    else book.plays.push(compilePlay(raw, { yaml, path: [i] }, chain, tags, book));
  });
}

function importPlaybook(
  raw: Record<string, unknown>,
  yaml: YamlFile,
  path: DocPath,
  chain: readonly string[],
  tags: readonly string[],
  book: Book,
): void {
  const name = String(raw['import_playbook']);
  const problem = (message: string) =>
    book.c.problems.push(yaml.problem([...path, 'import_playbook'], `import_playbook "${name}": ${message}`));
  if (isTemplated(name))
    return void problem('an import is read when the playbook loads; its path cannot be a template');
  const file = besideFile(yaml.file, name);
  const full = resolve(file);
  if (chain.includes(full)) {
    return void problem(`a cycle: ${[...chain.slice(chain.indexOf(full)), full].join(' -> ')}`);
  }
  let read: ReturnType<typeof readYamlSync>;
  try {
    read = readYamlSync(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return void book.c.problems.push(...err.problems);
  }
  if ('missing' in read) return void problem(read.missing);
  compileFile(read.yaml, [...chain, full], [...new Set([...tags, ...asList(raw['tags'])])], book);
}

function compilePlay(
  raw: Record<string, unknown>,
  at: Place,
  chain: readonly string[],
  importTags: readonly string[],
  book: Book,
): Play {
  const { c } = book;
  const { yaml, path } = at;
  const hosts = raw['hosts'] as string;
  const playTags = [...new Set([...importTags, ...asList(raw['tags'])])];
  const roles = findRoles(raw['roles'], at, chain, c);
  const rawHandlers = (raw['handlers'] ?? []) as Record<string, unknown>[];
  // Every handler name first: a handler may notify one defined after it.
  const handlerNames = new Set([...roleHandlerNames(roles), ...rawHandlers.map((h) => String(h['name']))]);
  const handlerScope: ListScope = {
    yaml,
    inherit: { when: [], tags: playTags, scopes: [] },
    chain,
    handlers: handlerNames,
    handlerList: true,
  };
  const handlers = [
    ...compileRoleHandlers(roles, handlerNames, c),
    ...rawHandlers.map((h, i) => compileTask(h, [...path, 'handlers', i], handlerScope, c)),
  ];
  const seen = new Set<string>();
  for (const h of handlers) {
    if (seen.has(h.name)) {
      const place = placeOf(h);
      if (place)
        c.problems.push(place.yaml.problem([...place.path, 'name'], `duplicate handler name "${h.name}"`));
    }
    seen.add(h.name);
  }
  const taskScope: ListScope = { ...handlerScope, handlerList: false };
  const body = [
    ...compileRoleTasks(roles, playTags, handlerNames, c),
    ...compileTaskList(raw['tasks'] ?? [], [...path, 'tasks'], taskScope, c),
  ];
  const maxFail = raw['max_fail_percentage'];
  const serialTemplate =
    typeof raw['serial'] === 'string' && isTemplated(raw['serial']) ? raw['serial'] : undefined;
  const order = raw['order'];
  const own = (raw['defaults'] ?? {}) as Vars;
  const fromRoles = roleDefaults(roles);
  const play: Play = {
    name: typeof raw['name'] === 'string' ? raw['name'] : hosts,
    hosts,
    tags: playTags,
    roles: roles.map((r) => r.ref.name),
    // The play's own object when no role has defaults: `defaults: *anchor` shared by plays stays one.
    defaults: fromRoles.places.size > 0 ? { ...fromRoles.vars, ...own } : own,
    vars: (raw['vars'] ?? {}) as Vars,
    serial: serialTemplate ? [] : compileSerial(raw['serial'], [...path, 'serial'], yaml, c),
    ...(serialTemplate ? { serialTemplate } : {}),
    ...(typeof order === 'string' ? { order } : {}),
    ...(typeof maxFail === 'number' ? { maxFailPercentage: maxFail } : {}),
    anyErrorsFatal: raw['any_errors_fatal'] === true,
    body,
    tasks: [...leafTasks(body)],
    handlers,
    location: locationOf(yaml, path),
  };
  setPlace(play, at);
  const fromRole = new Map([...fromRoles.places].filter(([name]) => !Object.hasOwn(own, name)));
  if (fromRole.size > 0) book.roleDefaultPlaces.set(play, fromRole);
  return play;
}

function compileSerial(raw: unknown, path: DocPath, yaml: YamlFile, c: Compile): SerialStep[] {
  if (raw === undefined) return [];
  const steps = Array.isArray(raw) ? raw : [raw];
  return steps.map((step, i) => {
    const parsed = parseSerial(step);
    if (typeof parsed === 'string') {
      c.problems.push(yaml.problem(Array.isArray(raw) ? [...path, i] : path, `serial ${parsed}`));
      return { percent: 0 };
    }
    return parsed[0] as SerialStep;
  });
}

/** The compiled playbook as one document, for locating what is found wrong in it later. */
const sources = new WeakMap<Playbook, YamlFile>();

/**
 * Where something of a loaded playbook is written, by its path in the playbook as the run sees
 * it: plays by their index in `plays` (`[0, 'defaults', 'consul_log_level']`, `[2, 'hosts']`),
 * so the check of a run's input before any connection names the line of a bad default. A play
 * may come from an imported playbook and a default from a role's `defaults/main.yaml`: the path
 * is located in the file it is written in. Undefined for playbooks not loaded from YAML. Tasks
 * are located through source.ts (placeOf), being written in many files.
 */
export function playbookSource(playbook: Playbook): YamlFile | undefined {
  return sources.get(playbook);
}

function playbookDocument(
  main: YamlFile,
  plays: readonly Play[],
  roleDefaultPlaces: ReadonlyMap<Play, ReadonlyMap<string, Place>>,
): YamlFile {
  const placeAt = (path: DocPath): Place | undefined => {
    const [index, key, name] = path;
    const play = typeof index === 'number' ? plays[index] : undefined;
    const at = play && placeOf(play);
    if (!play || !at) return undefined;
    const fromRole = key === 'defaults' && typeof name === 'string' && roleDefaultPlaces.get(play)?.get(name);
    if (fromRole) return { yaml: fromRole.yaml, path: [...fromRole.path, ...path.slice(3)] };
    return { yaml: at.yaml, path: [...at.path, ...path.slice(1)] };
  };
  return {
    file: main.file,
    value: main.value,
    locate: (path) => {
      const at = placeAt(path);
      return at ? at.yaml.locate(at.path) : main.locate(path);
    },
    problem: (path, message) => {
      const at = placeAt(path);
      return at ? at.yaml.problem(at.path, message) : main.problem(path, message);
    },
  };
}
