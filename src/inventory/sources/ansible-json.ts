import { formatPath, type DocPath } from '../../config/yaml-file.js';
import { ConfigError, type ConfigProblem } from '../../errors.js';
import type { Source } from '../resolve/model.js';
import { isPlainObject } from '../var-values.js';

/**
 * Ansible's JSON inventory, as an inventory script prints it for `--list`:
 *
 *   { "servers": { "hosts": ["s1"], "vars": {...}, "children": ["..."] },
 *     "clients": ["c1", "c2"],                      (a group may be just its hosts)
 *     "_meta": { "hostvars": { "s1": { "address": "10.0.1.11" } } } }
 *
 * reshaped into the document a YAML inventory would be, so that every later stage and check is
 * the one a YAML inventory gets. Groups are flat in the JSON and nested in YAML: each group is
 * written out under its first parent (`all` for a group with none) and named under the others.
 * Problems, from here and from the later stages, name paths of the JSON (`_meta.hostvars.s1.address`,
 * `servers.hosts[0]`); the output has no lines worth naming (a script often prints one).
 */
export function fromAnsibleJson(text: string, file: string): Source {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([
      { file, message: `inventory script: --list printed no valid JSON (${(err as Error).message})` },
    ]);
  }
  const problems: ConfigProblem[] = [];
  const problem = (path: DocPath, message: string) =>
    problems.push({ file, ...(path.length > 0 ? { path: formatPath(path) } : {}), message });
  const parsed = parse(value, problem);
  if (problems.length > 0 || !parsed) throw new ConfigError(problems);
  const shaped = new Shaper(parsed);
  const doc = { all: shaped.all() };
  const pathText = (path: DocPath) => formatPath(shaped.jsonPath(path));
  return {
    file,
    value: doc,
    locate: () => undefined,
    problem: (path, message) => {
      const text = pathText(path);
      return { file, ...(text ? { path: text } : {}), message };
    },
    pathText,
  };
}

interface JsonGroup {
  hosts: string[];
  /** Written as just its hosts (`"clients": ["c1"]`), so a host is at `clients[0]`. */
  bare: boolean;
  vars: Record<string, unknown> | undefined;
  children: string[];
}

interface Parsed {
  groups: Map<string, JsonGroup>;
  hostvars: Record<string, unknown>;
}

const GROUP_KEYS = new Set(['hosts', 'vars', 'children']);

/** Checks the JSON's shape (what the YAML schema cannot, before it is reshaped). */
function parse(value: unknown, problem: (path: DocPath, message: string) => void): Parsed | undefined {
  if (!isPlainObject(value)) {
    problem([], 'inventory script: --list must print a JSON object of groups (and _meta)');
    return undefined;
  }
  const groups = new Map<string, JsonGroup>();
  let hostvars: Record<string, unknown> = {};
  const names = (v: unknown, path: DocPath): string[] => {
    if (!Array.isArray(v)) {
      problem(path, 'must be a list of names');
      return [];
    }
    return v.filter((n, i) => {
      if (typeof n === 'string') return true;
      problem([...path, i], 'must be a name (a string)');
      return false;
    }) as string[];
  };
  for (const [name, body] of Object.entries(value)) {
    if (name === '_meta') {
      if (!isPlainObject(body)) {
        problem(['_meta'], 'must be an object with hostvars');
        continue;
      }
      for (const k of Object.keys(body)) if (k !== 'hostvars') problem(['_meta', k], 'unknown key');
      const hv = body['hostvars'];
      if (!isPlainObject(hv)) problem(['_meta', 'hostvars'], "must be an object of each host's vars");
      else hostvars = hv;
      continue;
    }
    if (Array.isArray(body)) {
      groups.set(name, { hosts: names(body, [name]), bare: true, vars: undefined, children: [] });
      continue;
    }
    if (!isPlainObject(body)) {
      problem([name], 'must be a group (an object with hosts, vars and children) or a list of hosts');
      continue;
    }
    for (const k of Object.keys(body)) if (!GROUP_KEYS.has(k)) problem([name, k], 'unknown key');
    const vars = body['vars'];
    if (vars !== undefined && vars !== null && !isPlainObject(vars))
      problem([name, 'vars'], 'must be an object');
    groups.set(name, {
      hosts: body['hosts'] === undefined ? [] : names(body['hosts'], [name, 'hosts']),
      bare: false,
      vars: isPlainObject(vars) ? vars : undefined,
      children: body['children'] === undefined ? [] : names(body['children'], [name, 'children']),
    });
  }
  if (!('_meta' in value)) {
    problem(
      [],
      "inventory script: --list printed no _meta.hostvars; drover reads every host's vars from it and does " +
        'not run the script again with --host for each host (print "_meta": {"hostvars": {}} if there are none)',
    );
  }
  const ungrouped = groups.get('ungrouped');
  if (ungrouped && (ungrouped.vars || ungrouped.children.length > 0)) {
    problem(
      ['ungrouped'],
      'drover makes "ungrouped" itself: only its hosts are read; give vars to the hosts',
    );
  }
  const listed = new Set([...groups.values()].flatMap((g) => g.hosts));
  for (const [host, vars] of Object.entries(hostvars)) {
    if (!listed.has(host))
      problem(['_meta', 'hostvars', host], `host "${host}" has vars here but no group lists it`);
    else if (vars !== null && !isPlainObject(vars))
      problem(['_meta', 'hostvars', host], 'must be an object of vars');
  }
  return { groups, hostvars };
}

/**
 * Builds the YAML-shaped document, and remembers for each place in it the place in the JSON it
 * came from. The walk is the order the reader walks the document in (vars, hosts, children, in
 * key order), so the host entry that carries a host's vars is the one read first.
 */
class Shaper {
  readonly #groups: Map<string, JsonGroup>;
  readonly #hostvars: Record<string, unknown>;
  readonly #placed = new Set<string>();
  readonly #withVars = new Set<string>();
  /** Document path (joined) -> the JSON path it stands for, and how the rest of a longer path maps. */
  readonly #paths = new Map<string, (rest: DocPath) => DocPath>();

  constructor(parsed: Parsed) {
    this.#groups = parsed.groups;
    this.#hostvars = parsed.hostvars;
  }

  all(): Record<string, unknown> {
    const all = this.#groups.get('all');
    const ungrouped = this.#groups.get('ungrouped');
    const path = ['all'];
    this.#paths.set(key(path), (rest) => ['all', ...rest]);
    const body: Record<string, unknown> = {};
    if (all?.vars) body['vars'] = all.vars;
    const hosts: Record<string, unknown> = {};
    if (all) this.#hosts(hosts, path, 'all', all);
    if (ungrouped) this.#hosts(hosts, path, 'ungrouped', ungrouped);
    body['hosts'] = hosts;
    // `all`'s own children first, then every group no other group names, then (in a cycle with
    // no way in from `all`) the rest: the cycle check then reports it.
    const hasParent = new Set([...this.#groups].filter(([n]) => n !== 'all').flatMap(([, g]) => g.children));
    // ansible-inventory lists "ungrouped" among all's children; drover makes that group itself.
    const roots = [
      ...(all?.children ?? []).filter((n) => n !== 'ungrouped'),
      ...[...this.#groups.keys()].filter((n) => n !== 'all' && n !== 'ungrouped' && !hasParent.has(n)),
    ];
    const children: Record<string, unknown> = {};
    body['children'] = children;
    this.#children(children, path, 'all', roots, []);
    for (const name of this.#groups.keys()) {
      if (name !== 'all' && name !== 'ungrouped' && !this.#placed.has(name))
        this.#children(children, path, 'all', [name], []);
    }
    return body;
  }

  /** The JSON path a document path stands for: the longest known prefix, and the rest after it. */
  jsonPath(path: DocPath): DocPath {
    for (let n = path.length; n > 0; n--) {
      const map = this.#paths.get(key(path.slice(0, n)));
      if (map) return map(path.slice(n));
    }
    return path;
  }

  #group(name: string, path: DocPath, ancestors: string[]): Record<string, unknown> {
    const g = this.#groups.get(name) as JsonGroup;
    this.#paths.set(key(path), (rest) => [name, ...rest]);
    // A group the JSON names is defined there, hosts or not: `hosts: {}` says so to the reader.
    const body: Record<string, unknown> = {};
    if (g.vars) body['vars'] = g.vars;
    const hosts: Record<string, unknown> = {};
    this.#hosts(hosts, path, name, g);
    body['hosts'] = hosts;
    if (g.children.length > 0) {
      const children: Record<string, unknown> = {};
      this.#children(children, path, name, g.children, [...ancestors, name]);
      body['children'] = children;
    }
    return body;
  }

  #hosts(into: Record<string, unknown>, groupPath: DocPath, jsonGroup: string, group: JsonGroup): void {
    const listedAt = (i: number): DocPath => (group.bare ? [jsonGroup, i] : [jsonGroup, 'hosts', i]);
    group.hosts.forEach((h, i) => {
      if (has(into, h)) return;
      const first = !this.#withVars.has(h);
      this.#withVars.add(h);
      const vars = first && has(this.#hostvars, h) ? this.#hostvars[h] : undefined;
      put(into, h, vars === undefined ? null : vars);
      this.#paths.set(key([...groupPath, 'hosts', h]), (rest) =>
        rest.length === 0 ? listedAt(i) : ['_meta', 'hostvars', h, ...rest],
      );
    });
  }

  #children(
    into: Record<string, unknown>,
    groupPath: DocPath,
    jsonGroup: string,
    names: string[],
    ancestors: string[],
  ): void {
    names.forEach((c, i) => {
      if (has(into, c)) return;
      const path = [...groupPath, 'children', c];
      const defined = this.#groups.has(c) && c !== 'all' && c !== 'ungrouped';
      if (defined && !this.#placed.has(c) && !ancestors.includes(c)) {
        this.#placed.add(c);
        put(into, c, this.#group(c, path, ancestors));
      } else {
        // Named here, written out elsewhere (or never: the reader reports an unknown group).
        put(into, c, null);
        if (jsonGroup !== 'all')
          this.#paths.set(key(path), (rest) =>
            rest.length === 0 ? [jsonGroup, 'children', i] : [c, ...rest],
          );
        else this.#paths.set(key(path), (rest) => [c, ...rest]);
      }
    });
  }
}

const key = (path: DocPath): string => path.join('\u0000');

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** An own property even for a name such as `__proto__`, which plain assignment would treat as the prototype. */
const put = (o: Record<string, unknown>, k: string, v: unknown): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
};
