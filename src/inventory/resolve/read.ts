import type { DocPath } from '../../config/yaml-file.js';
import { isSecretVarName, PATH_VARS, prepareVar, VAR_NAME, type VarContext } from '../var-values.js';
import type { Vars } from '../types.js';
import type { Findings } from './findings.js';
import { RESERVED_GROUPS, type Chain, type GroupAcc, type HostAcc, type Walk } from './model.js';
import { extended, pathOf, sameValue, writtenVar, writtenVars, type WrittenVars } from './written.js';

/** Host and group names: safe in host patterns (`:`, `,`, `!`, `&` are operators there) and in paths. */
const NAME = /^[A-Za-z0-9_.-]+$/;

type Conflict = (name: string, key: string, first: DocPath) => string;

/**
 * The first stage: walks the document from `all`, gathering every group and host over all the
 * places they are mentioned, each var prepared (env, paths, secrets) and checked against
 * repeated definitions. Assumes a schema-valid document.
 */
export function readInventory(
  root: Record<string, unknown> | null,
  findings: Findings,
  ctx: VarContext,
): Walk {
  const reader = new Reader(findings, ctx);
  reader.group('all', root, ['all'], []);
  return { groups: reader.groups, hosts: reader.hosts };
}

class Reader {
  readonly groups = new Map<string, GroupAcc>();
  readonly hosts = new Map<string, HostAcc>();
  /** Every host starts here, in no group; chains.ts moves it along. */
  readonly #noGroups: Chain = { groups: [], next: new Map() };
  /** The same few names come back for every host: each is checked once. */
  readonly #goodNames = new Set<string>();
  /** Names whose values need preparing (paths, secrets), by name. */
  readonly #specialNames = new Map<string, boolean>();
  readonly #findings: Findings;
  readonly #ctx: VarContext;
  readonly #hostConflict: Conflict;
  readonly #groupConflict: Conflict;

  constructor(findings: Findings, ctx: VarContext) {
    this.#findings = findings;
    this.#ctx = ctx;
    this.#hostConflict = (name, key, first) =>
      `host "${name}" already has a different ${key} at ${findings.at(first)}; a host's vars must agree`;
    this.#groupConflict = (name, key, first) =>
      `group "${name}" is defined again with a different ${key} (first at ${findings.at(first)})`;
  }

  group(name: string, body: Record<string, unknown> | null, path: DocPath, ancestors: string[]): void {
    let group = this.groups.get(name);
    if (!group) {
      group = {
        name,
        order: this.groups.size,
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
      this.groups.set(name, group);
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
        for (const k in map) this.#setVar(group, k, map[k], varsPath, this.#groupConflict);
      } else if (key === 'hosts') {
        for (const h in map) this.#groupHost(group, h, map[h] as Record<string, unknown> | null, path);
      } else if (key === 'children') {
        for (const [child, childBody] of Object.entries(map)) {
          const childPath = [...path, 'children', child];
          this.#child(group, child, childPath);
          this.group(child, childBody as Record<string, unknown> | null, childPath, [...ancestors, name]);
        }
      }
    }
  }

  #groupHost(group: GroupAcc, h: string, body: Record<string, unknown> | null, groupPath: DocPath) {
    const hostPath = extended(groupPath, 'hosts', h);
    // A bad name is reported, and the entry still checked, so that one run shows every problem.
    if (!NAME.test(h))
      this.#findings.problem(hostPath, `"${h}" is not a valid host name (letters, digits, "_", "." and "-")`);
    const acc = this.#host(h, body, hostPath);
    if (!group.directSet.has(h)) {
      group.directSet.add(h);
      group.directHosts.push(h);
      group.directAccs.push(acc);
    }
  }

  #child(group: GroupAcc, child: string, childPath: DocPath) {
    if (!NAME.test(child)) {
      this.#findings.problem(
        childPath,
        `"${child}" is not a valid group name (letters, digits, "_", "." and "-")`,
      );
    }
    const reserved = RESERVED_GROUPS.has(child);
    if (reserved)
      this.#findings.problem(childPath, `"${child}" is a group drover defines itself; use another name`);
    if (!reserved && !group.children.includes(child)) {
      group.children.push(child);
      group.childPaths.set(child, childPath);
    }
  }

  #host(name: string, body: Record<string, unknown> | null, path: DocPath): HostAcc {
    let host = this.hosts.get(name);
    if (!host) {
      host = {
        name,
        order: this.hosts.size,
        firstPath: path,
        written: writtenVars(),
        vars: {},
        chain: this.#noGroups,
      };
      this.hosts.set(name, host);
    }
    if (!body) return host;
    for (const key in body) this.#setVar(host, key, body[key], path, this.#hostConflict);
    return host;
  }

  #setVar(
    owner: { name: string; written: WrittenVars; vars: Vars },
    key: string,
    raw: unknown,
    parent: DocPath,
    conflict: Conflict,
  ) {
    if (!this.#goodNames.has(key)) {
      if (!this.#varNameOk(key, parent)) return;
      this.#goodNames.add(key);
    }
    const first = writtenVar(owner.written, key);
    if (first) {
      if (!sameValue(first.raw, raw))
        this.#findings.problem([...parent, key], conflict(owner.name, key, pathOf(first)));
      return;
    }
    owner.written[key] = { raw, parent, key };
    // Most vars are plain scalars that need nothing done: no path is built for them.
    let special = this.#specialNames.get(key);
    if (special === undefined)
      this.#specialNames.set(key, (special = PATH_VARS.has(key) || isSecretVarName(key)));
    const plain = (typeof raw !== 'object' || raw === null) && !special;
    owner.vars[key] = plain ? raw : prepareVar(key, raw, [...parent, key], this.#ctx);
  }

  /** Whether `key` may be a var name; reports why not. */
  #varNameOk(key: string, parent: DocPath): boolean {
    if (!VAR_NAME.test(key)) {
      this.#findings.problem(
        [...parent, key],
        `"${key}" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      );
      return false;
    }
    if (key === 'inventory_hostname') {
      this.#findings.problem([...parent, key], 'is set by drover to the host name; remove it');
      return false;
    }
    // Vars become object keys everywhere (templates, hostvars); this one would be a prototype.
    if (key === '__proto__') {
      this.#findings.problem([...parent, key], 'is not a valid variable name (JavaScript reserves it)');
      return false;
    }
    return true;
  }
}
