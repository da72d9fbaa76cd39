import { dirname } from 'node:path';
import { ConfigError, type ConfigProblem, type SourceLocation } from '../errors.js';
import { validateYaml } from '../config/schema.js';
import { formatPath, type DocPath, type YamlFile } from '../config/yaml-file.js';
import type { Group, Host, Inventory, Vars } from './types.js';
import {
  isPlainObject,
  isSecretVarName,
  PATH_VARS,
  prepareVar,
  VAR_NAME,
  type VarContext,
} from './var-values.js';

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
  /** The mapping it was written in (a host entry or a group's `vars`) and its key there. */
  parent: DocPath;
  key: string;
}

const pathOf = (w: Written): DocPath => extended(w.parent, w.key);

/**
 * `path` and one or two more segments, in an array of exactly that length: a big inventory keeps
 * one per host, and both a spread (which leaves room to grow) and concat (generic, slow) cost
 * several times as much.
 */
function extended(path: DocPath, a: string, b?: string): DocPath {
  const n = path.length;
  const out = new Array<string | number>(b === undefined ? n + 1 : n + 2);
  for (let i = 0; i < n; i++) out[i] = path[i] as string | number;
  out[n] = a;
  if (b !== undefined) out[n + 1] = b;
  return out;
}

const NO_VARS: Vars = Object.freeze({});

/**
 * Vars as written, by name: a plain object rather than a Map or a prototype-less object (both
 * kept as hash tables, several times the memory), as a big inventory keeps one per host. Read
 * it with `writtenVar`, which does not see Object.prototype's names.
 */
type WrittenVars = Record<string, Written>;
const writtenVars = (): WrittenVars => ({});
const writtenVar = (w: WrittenVars, name: string): Written | undefined =>
  Object.prototype.hasOwnProperty.call(w, name) ? w[name] : undefined;

interface GroupAcc {
  name: string;
  /** Position of the first mention in the file; breaks precedence ties and orders output. */
  order: number;
  firstPath: DocPath;
  /** False while every mention is a bare reference (`name:` or `name: {}`). */
  defined: boolean;
  written: WrittenVars;
  vars: Vars;
  children: string[];
  /** Where each child edge was first written, to locate cycles. */
  childPaths: Map<string, DocPath>;
  directHosts: string[];
  /** The same hosts, for a membership test that does not scan a 100k-host list per host. */
  directSet: Set<string>;
  /** And their accumulators, in the same order. */
  directAccs: HostAcc[];
}

interface HostAcc {
  name: string;
  order: number;
  firstPath: DocPath;
  written: WrittenVars;
  /** The host's own vars, as prepared; emptied once merged into its Host. */
  vars: Vars;
  /** The groups the host is in, as a node shared by every host in exactly those groups. */
  chain: Chain;
}

/**
 * A sequence of groups (file order, `all` first). Hosts in the same groups share one, so what
 * depends only on a host's groups (the precedence order, the merged group vars, same-depth
 * overrides) is worked out once per distinct set of groups, not once per host: an inventory of
 * 100k hosts in two groups has three chains.
 */
interface Chain {
  groups: GroupAcc[];
  next: Map<GroupAcc, Chain>;
  resolved?: ResolvedChain;
}

interface ResolvedChain {
  /** Lowest precedence first: shallower before deeper, then file order. */
  byPrecedence: GroupAcc[];
  /** The groups' vars merged by precedence. */
  vars: Vars;
  /** Vars a group sets over another group at the same depth with a different value. */
  overrides: { key: string; prev: GroupAcc; winner: GroupAcc; id: string }[];
  /** Host.groups: `all`, then `ungrouped` for a host in no other group, then the rest. */
  groupNames: string[];
}

/**
 * Builds the Inventory from a parsed YAML file: schema validation, then groups, children and
 * merged vars, with every problem located. Throws one ConfigError listing all problems.
 *
 * Pure apart from reading `options.env` (process.env by default) for `{ env: NAME }` values.
 * Linear in the size of the file: a 100k-host inventory loads in about a second.
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
  const noGroups: Chain = { groups: [], next: new Map() };
  const goodNames = new Set<string>();
  /** Names whose values need preparing (paths, secrets), by name. */
  const specialNames = new Map<string, boolean>();

  const hostConflict = (name: string, key: string, first: DocPath) =>
    `host "${name}" already has a different ${key} at ${at(first)}; a host's vars must agree`;
  const groupConflict = (name: string, key: string, first: DocPath) =>
    `group "${name}" is defined again with a different ${key} (first at ${at(first)})`;

  function setVar(
    owner: { name: string; written: WrittenVars; vars: Vars },
    key: string,
    raw: unknown,
    parent: DocPath,
    conflict: (name: string, key: string, first: DocPath) => string,
  ) {
    // The same few names come back for every host: each is checked once.
    if (!goodNames.has(key)) {
      if (!varNameProblem(key, parent)) return;
      goodNames.add(key);
    }
    const first = writtenVar(owner.written, key);
    if (first) {
      if (!sameValue(first.raw, raw)) problem([...parent, key], conflict(owner.name, key, pathOf(first)));
      return;
    }
    owner.written[key] = { raw, parent, key };
    // Most vars are plain scalars that need nothing done: no path is built for them.
    let special = specialNames.get(key);
    if (special === undefined) specialNames.set(key, (special = PATH_VARS.has(key) || isSecretVarName(key)));
    const plain = (typeof raw !== 'object' || raw === null) && !special;
    owner.vars[key] = plain ? raw : prepareVar(key, raw, [...parent, key], ctx);
  }

  /** Whether `key` may be a var name; reports why not. */
  function varNameProblem(key: string, parent: DocPath): boolean {
    if (!VAR_NAME.test(key)) {
      problem(
        [...parent, key],
        `"${key}" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      );
      return false;
    }
    if (key === 'inventory_hostname') {
      problem([...parent, key], 'is set by drover to the host name; remove it');
      return false;
    }
    // Vars become object keys everywhere (templates, hostvars); this one would be a prototype.
    if (key === '__proto__') {
      problem([...parent, key], 'is not a valid variable name (JavaScript reserves it)');
      return false;
    }
    return true;
  }

  function addHost(name: string, body: Record<string, unknown> | null, path: DocPath): HostAcc {
    let host = hosts.get(name);
    if (!host) {
      host = { name, order: hosts.size, firstPath: path, written: writtenVars(), vars: {}, chain: noGroups };
      hosts.set(name, host);
    }
    if (!body) return host;
    for (const key in body) setVar(host, key, body[key], path, hostConflict);
    return host;
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
        written: writtenVars(),
        vars: {},
        children: [],
        childPaths: new Map(),
        directHosts: [],
        directSet: new Set(),
        directAccs: [],
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
        const varsPath = [...path, 'vars'];
        for (const k in map) setVar(group, k, map[k], varsPath, groupConflict);
      } else if (key === 'hosts') {
        for (const h in map) {
          const hostPath = extended(path, 'hosts', h);
          // A bad name is reported, and the entry still checked, so that one run shows every problem.
          if (!NAME.test(h))
            problem(hostPath, `"${h}" is not a valid host name (letters, digits, "_", "." and "-")`);
          const acc = addHost(h, map[h] as Record<string, unknown> | null, hostPath);
          if (!group.directSet.has(h)) {
            group.directSet.add(h);
            group.directHosts.push(h);
            group.directAccs.push(acc);
          }
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
  const parents = new Map<string, string[]>();
  for (const g of groups.values()) {
    for (const c of g.children) {
      const list = parents.get(c);
      if (list) list.push(g.name);
      else parents.set(c, [g.name]);
    }
  }
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    let d = depth.get(name);
    if (d === undefined) {
      d = Math.max(-1, ...(parents.get(name) ?? []).map(depthOf)) + 1;
      depth.set(name, d);
    }
    return d;
  };

  // Transitive membership, in inventory (first-mention) order.
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

  // Every host's chain of groups, from one pass over the groups' members in file order.
  const step = (acc: HostAcc, g: GroupAcc) => {
    let next = acc.chain.next.get(g);
    if (!next) {
      next = { groups: [...acc.chain.groups, g], next: new Map() };
      acc.chain.next.set(g, next);
    }
    acc.chain = next;
  };
  for (const g of groups.values()) {
    if (g.name === 'all') for (const acc of hosts.values()) step(acc, g);
    else if (g.children.length === 0) for (const acc of g.directAccs) step(acc, g);
    else {
      for (const h of membersOf(g.name)) {
        const acc = hosts.get(h);
        if (acc) step(acc, g);
      }
    }
  }
  const resolveChain = (chain: Chain): ResolvedChain => {
    if (chain.resolved) return chain.resolved;
    const byPrecedence = [...chain.groups].sort(
      (a, b) => depthOf(a.name) - depthOf(b.name) || a.order - b.order,
    );
    const vars: Vars = {};
    const setters = new Map<string, GroupAcc[]>();
    for (const g of byPrecedence) {
      for (const key in g.written) {
        const list = setters.get(key);
        if (list) list.push(g);
        else setters.set(key, [g]);
        vars[key] = g.vars[key];
      }
    }
    const overrides: ResolvedChain['overrides'] = [];
    for (const [key, list] of setters) {
      const [prev, winner] = list.slice(-2);
      if (!prev || !winner || depthOf(prev.name) !== depthOf(winner.name)) continue;
      if (sameValue(writtenVar(prev.written, key)?.raw, writtenVar(winner.written, key)?.raw)) continue;
      overrides.push({ key, prev, winner, id: `${prev.name}|${winner.name}|${key}` });
    }
    const groupNames = chain.groups.map((g) => g.name);
    // Ansible's implicit group: hosts that belong to no group but `all`.
    if (chain.groups.length <= 1) groupNames.splice(1, 0, 'ungrouped');
    chain.resolved = { byPrecedence, vars, overrides, groupNames };
    return chain.resolved;
  };

  const ungrouped = [...hosts.values()].filter((h) => h.chain.groups.length <= 1).map((h) => h.name);
  const hostOrder = (a: string, b: string) => (hosts.get(a)?.order ?? 0) - (hosts.get(b)?.order ?? 0);
  const inOrder = (names: string[]): string[] => {
    for (let i = 1; i < names.length; i++) {
      if (hostOrder(names[i - 1] as string, names[i] as string) > 0) return names.sort(hostOrder);
    }
    return names;
  };

  const outGroups = new Map<string, Group>();
  for (const g of groups.values()) {
    const isAll = g.name === 'all';
    outGroups.set(g.name, {
      name: g.name,
      vars: g.vars,
      children: isAll ? ['ungrouped', ...g.children] : g.children,
      directHosts: g.directHosts,
      // Only a group with children needs its members gathered (as a set: a host may be in several).
      hosts: inOrder(
        isAll ? [...hosts.keys()] : g.children.length === 0 ? [...g.directHosts] : [...membersOf(g.name)],
      ),
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
    const chain = resolveChain(host.chain);
    for (const o of chain.overrides) {
      if (writtenVar(host.written, o.key) || warned.has(o.id)) continue;
      warned.add(o.id);
      const won = writtenVar(o.winner.written, o.key) as Written;
      warnings.push(
        yaml.problem(
          pathOf(won),
          `group "${o.winner.name}" overrides ${o.key} from group "${o.prev.name}" for host "${host.name}" ` +
            'only because it comes later in the file (both are at the same depth)',
        ),
      );
    }
    // Copied key by key: every host's vars then share one hidden class (a spread gave each its own).
    const vars: Vars = {};
    for (const key in chain.vars) vars[key] = chain.vars[key];
    for (const key in host.vars) vars[key] = host.vars[key];
    host.vars = NO_VARS;
    vars['inventory_hostname'] = host.name;

    const address = vars['address'];
    if (typeof address !== 'string') {
      problem(host.firstPath, 'missing required key "address"');
      continue;
    }
    if (vars['bind_addr'] === undefined) vars['bind_addr'] = address;
    outHosts.set(host.name, {
      name: host.name,
      address,
      groups: chain.groupNames,
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
      const acc = hosts.get(host.name);
      const written = acc ? writtenVar(acc.written, 'address') : undefined;
      problem(
        written ? pathOf(written) : (acc?.firstPath ?? []),
        `address ${host.address} is also the address of host "${other}"`,
      );
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

  // What locating a var needs outlives this call; nothing else of the walk should.
  for (const g of groups.values()) g.directSet.clear();
  const locateVar = varLocator(hosts, yaml.file, yaml.locate);
  return { file: yaml.file, hosts: outHosts, groups: outGroups, warnings, locateVar };
}

/**
 * Inventory.locateVar, in a scope of its own: a closure keeps every variable its scope shares
 * with other closures, and resolveInventory's hold the whole walk.
 */
function varLocator(
  hosts: ReadonlyMap<string, HostAcc>,
  file: string,
  locate: YamlFile['locate'],
): (host: string, name: string) => SourceLocation | undefined {
  const at = (w: Written): SourceLocation => {
    const path = pathOf(w);
    return { file, ...locate(path), path: formatPath(path) };
  };
  const locateVar = (host: string, name: string): SourceLocation | undefined => {
    const acc = hosts.get(host);
    if (!acc) return undefined;
    const own = writtenVar(acc.written, name);
    if (own) return at(own);
    const chain = acc.chain.resolved?.byPrecedence ?? [];
    for (let i = chain.length - 1; i >= 0; i--) {
      const g = chain[i];
      const w = g ? writtenVar(g.written, name) : undefined;
      if (w) return at(w);
    }
    // bind_addr defaults to address (see resolveInventory): a bad one was written as the address.
    return name === 'bind_addr' ? locateVar(host, 'address') : undefined;
  };
  return locateVar;
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
  // Built whole (no spread): one per host, every one of the same shape.
  const at = yaml.locate(path);
  return at
    ? { file: yaml.file, line: at.line, column: at.column, path: formatPath(path) }
    : { file: yaml.file, path: formatPath(path) };
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
