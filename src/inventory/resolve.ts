import { dirname } from 'node:path';
import { ConfigError, type ConfigProblem, type SourceLocation } from '../errors.js';
import { validateYaml } from '../config/schema.js';
import { formatPath, type DocPath, type YamlFile } from '../config/yaml-file.js';
import type { Group, Host, Inventory, Vars } from './types.js';
import { isPlainObject, prepareVar, VAR_NAME, type VarContext } from './var-values.js';

/** Host and group names: safe in host patterns (`:`, `,`, `!`, `&` are operators there) and in paths. */
export const NAME = /^[A-Za-z0-9_.-]+$/;

/** Groups drover defines itself; a file may not define them as children. */
const RESERVED_GROUPS = new Set(['all', 'ungrouped']);

export interface ResolveOptions {
  /** Where `{ env: NAME }` values come from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** For `~/` in ssh_key and ssh_known_hosts; defaults to the user's home directory. */
  homeDir?: string;
}

/** A var as written, kept to compare repeated definitions and to locate problems. */
interface Written {
  raw: unknown;
  path: DocPath;
}

interface GroupAcc {
  name: string;
  /** Position of the first mention in the file; breaks precedence ties and orders output. */
  order: number;
  firstPath: DocPath;
  /** False while every mention is a bare reference (`name:` or `name: {}`). */
  defined: boolean;
  written: Map<string, Written>;
  vars: Vars;
  children: string[];
  /** Where each child edge was first written, to locate cycles. */
  childPaths: Map<string, DocPath>;
  directHosts: string[];
}

interface HostAcc {
  name: string;
  order: number;
  firstPath: DocPath;
  written: Map<string, Written>;
  vars: Vars;
}

/**
 * Builds the Inventory from a parsed YAML file: schema validation, then groups, children and
 * merged vars, with every problem located. Throws one ConfigError listing all problems.
 *
 * Pure apart from reading `options.env` (process.env by default) for `{ env: NAME }` values.
 *
 * Precedence of vars for a host: `all` < parent group < child group < the host's own vars.
 * A group's depth is its longest distance from `all`; deeper groups win. Between groups at the
 * same depth (unrelated groups), the one that comes later in the file wins, and a warning says so
 * when their values differ.
 */
export function resolveInventory(yaml: YamlFile, options: ResolveOptions = {}): Inventory {
  // Schema problems mean the shape is wrong; the semantic pass below assumes the shape, so it only
  // runs on a valid document (a compiler's stages: all syntax errors, then all semantic ones).
  const schemaProblems = validateYaml('inventory.schema.json', yaml);
  if (schemaProblems.length > 0) throw new ConfigError(byPosition(schemaProblems));

  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const problem = (path: DocPath, message: string) => problems.push(yaml.problem(path, message));
  const at = (path: DocPath): string => {
    const loc = yaml.locate(path);
    return loc ? `line ${loc.line}:${loc.column}` : formatPath(path);
  };
  const ctx: VarContext = {
    env: options.env ?? process.env,
    baseDir: dirname(yaml.file),
    ...(options.homeDir !== undefined ? { homeDir: options.homeDir } : {}),
    problem,
  };

  const groups = new Map<string, GroupAcc>();
  const hosts = new Map<string, HostAcc>();

  function setVar(
    owner: { written: Map<string, Written>; vars: Vars },
    key: string,
    raw: unknown,
    path: DocPath,
    conflict: (first: DocPath) => string,
  ) {
    if (!VAR_NAME.test(key)) {
      problem(
        path,
        `"${key}" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      );
      return;
    }
    if (key === 'inventory_hostname') {
      problem(path, 'is set by drover to the host name; remove it');
      return;
    }
    const first = owner.written.get(key);
    if (first) {
      if (!sameValue(first.raw, raw)) problem(path, conflict(first.path));
      return;
    }
    owner.written.set(key, { raw, path });
    owner.vars[key] = prepareVar(key, raw, path, ctx);
  }

  function addHost(name: string, body: Record<string, unknown> | null, path: DocPath) {
    let host = hosts.get(name);
    if (!host) {
      host = { name, order: hosts.size, firstPath: path, written: new Map(), vars: {} };
      hosts.set(name, host);
    }
    for (const [key, raw] of Object.entries(body ?? {})) {
      setVar(
        host,
        key,
        raw,
        [...path, key],
        (first) => `host "${name}" already has a different ${key} at ${at(first)}; a host's vars must agree`,
      );
    }
  }

  function visitGroup(
    name: string,
    body: Record<string, unknown> | null,
    path: DocPath,
    ancestors: string[],
  ) {
    let group = groups.get(name);
    if (!group) {
      group = {
        name,
        order: groups.size,
        firstPath: path,
        defined: false,
        written: new Map(),
        vars: {},
        children: [],
        childPaths: new Map(),
        directHosts: [],
      };
      groups.set(name, group);
    }
    // A group nested inside itself (possible with YAML aliases) would recurse forever; the cycle
    // check after the walk reports it.
    if (ancestors.includes(name)) return;
    if (!body) return;
    // Keys are walked in file order, so "later in the file" is well defined for precedence.
    for (const [key, value] of Object.entries(body)) {
      group.defined = true;
      const map = (value ?? {}) as Record<string, unknown>;
      if (key === 'vars') {
        for (const [k, raw] of Object.entries(map)) {
          setVar(
            group,
            k,
            raw,
            [...path, 'vars', k],
            (first) => `group "${name}" is defined again with a different ${k} (first at ${at(first)})`,
          );
        }
      } else if (key === 'hosts') {
        for (const [h, hostBody] of Object.entries(map)) {
          const hostPath = [...path, 'hosts', h];
          // A bad name is reported, and the entry still checked, so that one run shows every problem.
          if (!NAME.test(h))
            problem(hostPath, `"${h}" is not a valid host name (letters, digits, "_", "." and "-")`);
          if (!group.directHosts.includes(h)) group.directHosts.push(h);
          addHost(h, hostBody as Record<string, unknown> | null, hostPath);
        }
      } else if (key === 'children') {
        for (const [child, childBody] of Object.entries(map)) {
          const childPath = [...path, 'children', child];
          if (!NAME.test(child)) {
            problem(childPath, `"${child}" is not a valid group name (letters, digits, "_", "." and "-")`);
          }
          const reserved = RESERVED_GROUPS.has(child);
          if (reserved) problem(childPath, `"${child}" is a group drover defines itself; use another name`);
          if (!reserved && !group.children.includes(child)) {
            group.children.push(child);
            group.childPaths.set(child, childPath);
          }
          visitGroup(child, childBody as Record<string, unknown> | null, childPath, [...ancestors, name]);
        }
      }
    }
  }

  const root = (yaml.value as { all: Record<string, unknown> | null }).all;
  visitGroup('all', root, ['all'], []);

  for (const group of groups.values()) {
    if (!RESERVED_GROUPS.has(group.name) && !group.defined) {
      problem(
        group.firstPath,
        `unknown group "${group.name}": it is listed as a child but never defined ` +
          '(give it hosts, vars or children somewhere; write "hosts: {}" for a group that is empty on purpose)',
      );
    }
  }
  if (hosts.size === 0) problem(['all'], 'the inventory has no hosts');
  // Depth and membership below assume an acyclic graph; every other problem is collected on.
  if (findCycles(groups, problem)) throw new ConfigError(byPosition(problems));

  // Depth = longest path from `all`; deeper groups override shallower ones.
  const depth = new Map<string, number>();
  const depthOf = (name: string, parents: ReadonlyMap<string, string[]>): number => {
    let d = depth.get(name);
    if (d === undefined) {
      d = Math.max(-1, ...(parents.get(name) ?? []).map((p) => depthOf(p, parents))) + 1;
      depth.set(name, d);
    }
    return d;
  };
  const parents = new Map<string, string[]>();
  for (const g of groups.values())
    for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), g.name]);

  // Transitive membership, in inventory (first-mention) order.
  const hostOrder = (a: string, b: string) => (hosts.get(a)?.order ?? 0) - (hosts.get(b)?.order ?? 0);
  const members = new Map<string, Set<string>>();
  const membersOf = (name: string): Set<string> => {
    let set = members.get(name);
    if (!set) {
      const g = groups.get(name);
      set = new Set(g?.directHosts ?? []);
      for (const c of g?.children ?? []) for (const h of membersOf(c)) set.add(h);
      members.set(name, set);
    }
    return set;
  };
  members.set('all', new Set(hosts.keys()));

  // Ansible's implicit group: hosts that belong to no group but `all`.
  const grouped = new Set<string>();
  for (const g of groups.values()) if (g.name !== 'all') for (const h of membersOf(g.name)) grouped.add(h);
  const ungrouped = [...hosts.keys()].filter((h) => !grouped.has(h));

  const outGroups = new Map<string, Group>();
  for (const g of groups.values()) {
    const isAll = g.name === 'all';
    outGroups.set(g.name, {
      name: g.name,
      vars: g.vars,
      children: isAll ? ['ungrouped', ...g.children] : g.children,
      directHosts: g.directHosts,
      hosts: [...membersOf(g.name)].sort(hostOrder),
      origin: location(yaml, g.firstPath),
    });
    if (isAll) {
      outGroups.set('ungrouped', {
        name: 'ungrouped',
        vars: {},
        children: [],
        directHosts: ungrouped,
        hosts: ungrouped,
      });
    }
  }

  // Same-depth overrides are legal but easy to get wrong; warn once per (groups, var).
  const warned = new Set<string>();
  const outHosts = new Map<string, Host>();
  for (const host of hosts.values()) {
    const memberOf = [...groups.values()].filter((g) => g.name === 'all' || membersOf(g.name).has(host.name));
    const byPrecedence = [...memberOf].sort(
      (a, b) => depthOf(a.name, parents) - depthOf(b.name, parents) || a.order - b.order,
    );
    const vars: Vars = {};
    const setters = new Map<string, GroupAcc[]>();
    for (const g of byPrecedence) {
      for (const key of g.written.keys()) {
        setters.set(key, [...(setters.get(key) ?? []), g]);
        vars[key] = g.vars[key];
      }
    }
    for (const [key, chain] of setters) {
      const [prev, winner] = chain.slice(-2);
      if (!prev || !winner || host.written.has(key)) continue;
      if (depthOf(prev.name, parents) !== depthOf(winner.name, parents)) continue;
      const won = winner.written.get(key);
      const id = `${prev.name}|${winner.name}|${key}`;
      if (won && !sameValue(prev.written.get(key)?.raw, won.raw) && !warned.has(id)) {
        warned.add(id);
        warnings.push(
          yaml.problem(
            won.path,
            `group "${winner.name}" overrides ${key} from group "${prev.name}" for host "${host.name}" ` +
              'only because it comes later in the file (both are at the same depth)',
          ),
        );
      }
    }
    Object.assign(vars, host.vars);
    vars['inventory_hostname'] = host.name;

    const address = vars['address'];
    if (typeof address !== 'string') {
      problem(host.firstPath, 'missing required key "address"');
      continue;
    }
    if (vars['bind_addr'] === undefined) vars['bind_addr'] = address;
    const groupNames = memberOf.map((g) => g.name);
    if (ungrouped.includes(host.name)) groupNames.splice(1, 0, 'ungrouped');
    outHosts.set(host.name, {
      name: host.name,
      address,
      groups: groupNames,
      vars,
      origin: location(yaml, host.firstPath),
    });
  }

  // Two inventory hosts on one address would be one machine configured twice (two Consul agents
  // fighting over the same ports and data dir).
  const byAddress = new Map<string, string>();
  for (const host of outHosts.values()) {
    const other = byAddress.get(host.address);
    if (other !== undefined) {
      const path =
        hosts.get(host.name)?.written.get('address')?.path ?? hosts.get(host.name)?.firstPath ?? [];
      problem(path, `address ${host.address} is also the address of host "${other}"`);
    } else byAddress.set(host.address, host.name);
  }

  for (const name of hosts.keys()) {
    if (groups.has(name)) {
      warnings.push(
        yaml.problem(
          hosts.get(name)?.firstPath ?? [],
          `"${name}" is both a host and a group; patterns select both`,
        ),
      );
    }
  }

  if (problems.length > 0) throw new ConfigError(byPosition(problems));
  return { file: yaml.file, hosts: outHosts, groups: outGroups, warnings };
}

/** Reports each cycle in the children graph once, at the edge that closes it. */
function findCycles(
  groups: ReadonlyMap<string, GroupAcc>,
  problem: (path: DocPath, message: string) => void,
) {
  const state = new Map<string, 'visiting' | 'done'>();
  let found = false;
  const visit = (name: string, stack: string[]) => {
    state.set(name, 'visiting');
    const g = groups.get(name);
    const path = [...stack, name];
    for (const child of g?.children ?? []) {
      const s = state.get(child);
      if (s === 'visiting') {
        found = true;
        const loop = [...path.slice(path.indexOf(child)), child];
        problem(g?.childPaths.get(child) ?? [], `group "${child}" contains itself (${loop.join(' > ')})`);
      } else if (s === undefined) visit(child, path);
    }
    state.set(name, 'done');
  };
  visit('all', []);
  return found;
}

/** File order, as compilers report: easier to work through than discovery order. */
function byPosition(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function location(yaml: YamlFile, path: DocPath): SourceLocation {
  return { file: yaml.file, ...yaml.locate(path), path: formatPath(path) };
}

/** Structural equality of YAML values; mapping key order does not matter. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}
