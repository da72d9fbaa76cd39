import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { playbookBaseDir } from '../app/playbooks.js';
import type { DocPath, YamlFile } from '../config/yaml-file.js';
import type { Vars } from '../inventory/types.js';
import { compileTask, type Compile, type ListScope } from './compile-task.js';
import { placedConditions, unionTags, withScope } from './compile-task.js';
import type { Place } from './source.js';
import { compileTaskList, readPart } from './task-list.js';
import type { RoleRef, Task, TaskNode } from './types.js';

/**
 * Roles in their simplest useful form, as Ansible lays them out: `roles/NAME/` beside the
 * playbook (or in the project's `roles/`), with `tasks/main.yaml`, `defaults/main.yaml` (the
 * lowest-precedence vars), `handlers/main.yaml` and `templates/` (and `files/` for copy), any of
 * them optional. A role's tasks run before the play's own.
 */

/** A role entry of a play, found and its files read. */
export interface FoundRole {
  readonly ref: RoleRef;
  /** Where the entry is written in the play. */
  readonly at: Place;
  readonly entry: Readonly<Record<string, unknown>>;
  readonly tasks?: { yaml: YamlFile; chain: string[] };
  readonly handlers?: { yaml: YamlFile; chain: string[] };
  readonly defaults?: YamlFile;
}

const ROLE_FILES = ['main.yaml', 'main.yml'];

/** The folders a role of a play written in `playFile` is looked for in, in order. */
export function roleDirs(playFile: string): string[] {
  return [...new Set([join(playFile, '..', 'roles'), join(playbookBaseDir(playFile), 'roles')])];
}

/** Each entry of a play's `roles:` found and read; what cannot be is a problem at the entry. */
export function findRoles(raw: unknown, at: Place, chain: readonly string[], c: Compile): FoundRole[] {
  if (!Array.isArray(raw)) return [];
  const found: FoundRole[] = [];
  raw.forEach((item: unknown, i) => {
    const entry = (typeof item === 'string' ? { role: item } : item) as Record<string, unknown>;
    const name = String(entry['role']);
    const path: DocPath = [...at.path, 'roles', i];
    const problem = (message: string, sub: DocPath = []) =>
      c.problems.push(at.yaml.problem([...path, ...sub], `role "${name}": ${message}`));
    // Absolute: a role's template is given to the module as a path of its own, whatever the project.
    const looked = roleDirs(at.yaml.file).map((d) => resolve(d, name));
    const dir = looked.find(isDir);
    if (!dir) {
      problem(`not found (looked in ${looked.join(', ')})`);
      return;
    }
    const part = (sub: 'tasks' | 'handlers' | 'defaults') => {
      const file = ROLE_FILES.map((f) => join(dir, sub, f)).find((f) => existsSync(f));
      if (!file) return undefined;
      const read = readPart(file, chain, sub);
      if ('problem' in read) problem(read.problem);
      else if ('problems' in read) c.problems.push(...read.problems);
      else return read;
      return undefined;
    };
    const tasks = part('tasks');
    const handlers = part('handlers');
    const defaults = part('defaults');
    if (!ROLE_PARTS.some((sub) => ROLE_FILES.some((f) => existsSync(join(dir, sub, f))))) {
      problem(`${dir} has none of tasks/main.yaml, handlers/main.yaml, defaults/main.yaml`);
      return;
    }
    found.push({
      ref: { name, dir },
      at: { yaml: at.yaml, path },
      entry,
      ...(tasks ? { tasks } : {}),
      ...(handlers ? { handlers } : {}),
      ...(defaults ? { defaults: defaults.yaml } : {}),
    });
  });
  return found;
}

const ROLE_PARTS = ['tasks', 'handlers', 'defaults'];

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The roles' handler names, each role once (a role listed twice has its handlers once). */
export function roleHandlerNames(roles: readonly FoundRole[]): string[] {
  return onceEach(roles).flatMap((r) =>
    ((r.handlers?.yaml.value ?? []) as Record<string, unknown>[]).map((h) => String(h['name'])),
  );
}

/** The roles' handlers, each role's once, as play handlers. */
export function compileRoleHandlers(
  roles: readonly FoundRole[],
  handlers: ReadonlySet<string>,
  c: Compile,
): Task[] {
  return onceEach(roles).flatMap((r) => {
    if (!r.handlers) return [];
    const scope: ListScope = {
      yaml: r.handlers.yaml,
      inherit: { when: [], tags: [], scopes: [], role: r.ref },
      chain: r.handlers.chain,
      handlers,
      handlerList: true,
    };
    const raw = r.handlers.yaml.value as Record<string, unknown>[];
    return raw.map((h, i) => compileTask(h, [i], scope, c));
  });
}

/**
 * The roles' tasks, in the order the roles are listed: each with the entry's `when`, `tags` and
 * `vars` (role params, seen only by the role's tasks), and the play's tags.
 */
export function compileRoleTasks(
  roles: readonly FoundRole[],
  playTags: readonly string[],
  handlers: ReadonlySet<string>,
  c: Compile,
): TaskNode[] {
  return roles.flatMap((r) => {
    if (!r.tasks) return [];
    let when: ReturnType<typeof placedConditions> = [];
    try {
      when = placedConditions(r.entry['when'], r.at.yaml, [...r.at.path, 'when']);
    } catch (err) {
      c.problems.push(
        r.at.yaml.problem([...r.at.path, 'when'], `role "${r.ref.name}": ${(err as Error).message}`),
      );
    }
    const scope: ListScope = {
      yaml: r.tasks.yaml,
      inherit: {
        when: when ?? [],
        tags: unionTags(playTags, r.entry['tags']),
        scopes: withScope([], r.entry['vars'], r.at.yaml, [...r.at.path, 'vars']),
        role: r.ref,
      },
      chain: r.tasks.chain,
      handlers,
    };
    return compileTaskList(r.tasks.yaml.value, [], scope, c);
  });
}

/**
 * The roles' defaults, merged (a later role's win), and where each is written: they sit under
 * the play's own `defaults`, the lowest precedence there is.
 */
export function roleDefaults(roles: readonly FoundRole[]): { vars: Vars; places: Map<string, Place> } {
  const vars: Vars = {};
  const places = new Map<string, Place>();
  for (const r of onceEach(roles)) {
    const yaml = r.defaults;
    if (!yaml) continue;
    for (const [name, value] of Object.entries(yaml.value as Vars)) {
      vars[name] = value;
      places.set(name, { yaml, path: [name] });
    }
  }
  return { vars, places };
}

const onceEach = (roles: readonly FoundRole[]): FoundRole[] =>
  roles.filter((r, i) => roles.findIndex((o) => o.ref.dir === r.ref.dir) === i);

/** Module args that name a local file, and the folder of a role they are looked up in first. */
const ROLE_FILE_ARGS: Readonly<Record<string, { arg: string; folder: string }>> = {
  template: { arg: 'src', folder: 'templates' },
  consul_config_check: { arg: 'src', folder: 'templates' },
  copy: { arg: 'src', folder: 'files' },
};

/**
 * A role task's args with a relative template (or copy) source found in the role: the role's
 * `templates/` (`files/`) first, as Ansible looks, else as written (the project). Used by the
 * runner and by the checks before it, so both read the same file.
 */
export function withRoleFiles(
  task: Pick<Task, 'module' | 'role'>,
  args: Record<string, unknown>,
): Record<string, unknown> {
  const spec = ROLE_FILE_ARGS[task.module];
  const value = spec ? args[spec.arg] : undefined;
  if (!task.role || !spec || typeof value !== 'string' || isAbsolute(value)) return args;
  const inRole = join(task.role.dir, spec.folder, value);
  return existsSync(inRole) ? { ...args, [spec.arg]: inRole } : args;
}
