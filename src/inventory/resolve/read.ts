import type { DocPath } from '../../config/yaml-file.js';
import { isSecretVarName, PATH_VARS, prepareVar, VAR_NAME, type VarContext } from '../var-values.js';
import type { Vars } from '../types.js';
import type { Findings } from './findings.js';
import {
  RESERVED_GROUPS,
  type Chain,
  type GroupAcc,
  type HostAcc,
  type Source,
  type VarsLayer,
  type Walk,
} from './model.js';
import { expandRange, isRange } from './ranges.js';
import { extended, pathOf, sameValue, writtenVar, writtenVars, type WrittenVars } from './written.js';

/** Host and group names: safe in host patterns (`:`, `,`, `!`, `&` are operators there) and in paths. */
const NAME = /^[A-Za-z0-9_.-]+$/;

type Conflict = (name: string, key: string, first: DocPath) => string;

/** How one inventory document is read. */
export interface DocumentOptions {
  /** Host names may be ranges (`web[01:20]`): YAML inventories, not a script's output. */
  readonly ranges: boolean;
}

/** group_vars/<name> or host_vars/<name>: one file, or a folder's files in the order they apply. */
export interface VarsFolder {
  readonly kind: 'group' | 'host';
  readonly name: string;
  /** The file or folder, for messages. */
  readonly where: string;
  readonly files: readonly Source[];
  /** The folder holding group_vars/ and host_vars/: relative key paths in them are relative to it. */
  readonly baseDir: string;
}

/** The first stage for one YAML document alone, as the stage tests run it. */
export function readInventory(src: Source, findings: Findings, ctx: VarContext): Walk {
  const reader = new InventoryReader(findings);
  reader.document(src, ctx, { ranges: true });
  return reader.walk();
}

/**
 * The first stage: walks each document from `all`, gathering every group and host over all the
 * places they are mentioned, each var prepared (env, paths, secrets). Within one document a var
 * written twice must agree; a later document (the next `-i`) replaces what an earlier one says,
 * as Ansible's later inventory sources do. Then the group_vars/ and host_vars/ files, each into
 * its group's or host's VarsLayer. Assumes schema-valid documents.
 */
export class InventoryReader {
  readonly #groups = new Map<string, GroupAcc>();
  readonly #hosts = new Map<string, HostAcc>();
  /** Every host starts here, in no group; chains.ts moves it along. */
  readonly #noGroups: Chain = { groups: [], next: new Map() };
  /** The same few names come back for every host: each is checked once. */
  readonly #goodNames = new Set<string>();
  /** Names whose values need preparing (paths, secrets), by name. */
  readonly #specialNames = new Map<string, boolean>();
  readonly #findings: Findings;
  readonly #hostConflict: Conflict;
  readonly #groupConflict: Conflict;
  /** The document being read, and how. */
  #src: Source | undefined;
  #ctx: VarContext | undefined;
  #ranges = false;

  constructor(findings: Findings) {
    this.#findings = findings;
    this.#hostConflict = (name, key, first) =>
      `host "${name}" already has a different ${key} at ${findings.at(this.#source, first)}; a host's vars must agree`;
    this.#groupConflict = (name, key, first) =>
      `group "${name}" is defined again with a different ${key} (first at ${findings.at(this.#source, first)})`;
  }

  walk(): Walk {
    return { groups: this.#groups, hosts: this.#hosts };
  }

  document(src: Source, ctx: VarContext, o: DocumentOptions): void {
    this.#src = src;
    this.#ctx = ctx;
    this.#ranges = o.ranges;
    this.#group('all', (src.value as { all: Record<string, unknown> | null }).all, ['all'], []);
  }

  /** A group's or host's vars files; read after every document, so that every name is known. */
  varsFolder(folder: VarsFolder, ctxFor: (src: Source) => VarContext): void {
    const owner = folder.kind === 'group' ? this.#groups.get(folder.name) : this.#hosts.get(folder.name);
    if (!owner) {
      const what = folder.kind === 'group' ? 'group' : 'host';
      const extra =
        folder.name === 'ungrouped'
          ? '"ungrouped" is the group drover makes of hosts in no other group; give such vars to the hosts'
          : `${folder.kind}_vars/ files are named after a ${what} of the inventory` +
            (folder.kind === 'group' ? ' (an inventory without such hosts can list it as "hosts: {}")' : '');
      this.#findings.fileProblem(folder.where, `no ${what} "${folder.name}" in the inventory: ${extra}`);
      return;
    }
    const layer: VarsLayer = (owner.folder ??= { name: owner.name, written: writtenVars(), vars: {} });
    const conflict = folder.kind === 'group' ? this.#groupConflict : this.#hostConflict;
    for (const src of folder.files) {
      this.#src = src;
      this.#ctx = ctxFor(src);
      const map = (src.value ?? {}) as Record<string, unknown>;
      for (const key in map) this.#setVar(layer, key, map[key], [], conflict);
    }
  }

  get #source(): Source {
    return this.#src as Source;
  }

  #group(name: string, body: Record<string, unknown> | null, path: DocPath, ancestors: string[]): void {
    let group = this.#groups.get(name);
    if (!group) {
      group = {
        name,
        order: this.#groups.size,
        firstSrc: this.#source,
        firstPath: path,
        defined: false,
        written: writtenVars(),
        vars: {},
        folder: undefined,
        children: [],
        childPlaces: new Map(),
        directHosts: [],
        directSet: new Set(),
        directAccs: [],
      };
      this.#groups.set(name, group);
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
        for (const h in map) this.#groupHosts(group, h, map[h] as Record<string, unknown> | null, path);
      } else if (key === 'children') {
        for (const [child, childBody] of Object.entries(map)) {
          const childPath = [...path, 'children', child];
          this.#child(group, child, childPath);
          this.#group(child, childBody as Record<string, unknown> | null, childPath, [...ancestors, name]);
        }
      }
    }
  }

  /** An entry of a group's `hosts`: one host, or a range of them. */
  #groupHosts(group: GroupAcc, h: string, body: Record<string, unknown> | null, groupPath: DocPath) {
    const hostPath = extended(groupPath, 'hosts', h);
    if (this.#ranges && isRange(h)) {
      this.#range(group, h, body, hostPath);
      return;
    }
    // A bad name is reported, and the entry still checked, so that one run shows every problem.
    if (!NAME.test(h)) this.#badHostName(h, hostPath);
    this.#member(group, this.#host(h, body, hostPath, undefined));
  }

  /**
   * `web[01:20]: { ... }`: every host of the range gets the entry's vars. They cannot share one
   * address (two hosts on one machine), so the entry's address is a range too, the n-th host
   * getting the n-th address; without one, each host's address is its name (see buildHosts).
   */
  #range(group: GroupAcc, h: string, body: Record<string, unknown> | null, hostPath: DocPath) {
    const expanded = expandRange(h);
    if ('error' in expanded) {
      this.#findings.problem(this.#source, hostPath, `bad host range: ${expanded.error}`);
      return;
    }
    const { names } = expanded;
    // Every name of a range has the same letters around the numbers: checking one checks all.
    if (!NAME.test(names[0] as string)) this.#badHostName(h, hostPath);
    const address = body?.['address'];
    let addresses: string[] | undefined;
    if (address !== undefined) {
      const addressPath = extended(hostPath, 'address');
      const fromRange = typeof address === 'string' && isRange(address) ? expandRange(address) : undefined;
      if (fromRange && 'error' in fromRange) {
        this.#findings.problem(this.#source, addressPath, `bad address range: ${fromRange.error}`);
        return;
      }
      if (fromRange) addresses = fromRange.names;
      else if (names.length > 1) {
        this.#findings.problem(
          this.#source,
          addressPath,
          `the ${names.length} hosts of range "${h}" cannot share one address: write a range here too ` +
            "(address: 10.0.1.[11:30]), or leave address out to make each host's address its name",
        );
        return;
      }
      if (addresses && addresses.length !== names.length) {
        this.#findings.problem(
          this.#source,
          addressPath,
          `the address range stands for ${addresses.length} addresses and the host range "${h}" for ` +
            `${names.length} hosts; the n-th host gets the n-th address, so they must be as many`,
        );
        return;
      }
    }
    names.forEach((name, i) => {
      const acc = this.#host(name, body, hostPath, addresses?.[i]);
      acc.fromRange = true;
      this.#member(group, acc);
    });
  }

  #badHostName(h: string, hostPath: DocPath) {
    this.#findings.problem(
      this.#source,
      hostPath,
      `"${h}" is not a valid host name (letters, digits, "_", "." and "-")`,
    );
  }

  #member(group: GroupAcc, acc: HostAcc) {
    if (!group.directSet.has(acc.name)) {
      group.directSet.add(acc.name);
      group.directHosts.push(acc.name);
      group.directAccs.push(acc);
    }
  }

  #child(group: GroupAcc, child: string, childPath: DocPath) {
    if (!NAME.test(child)) {
      this.#findings.problem(
        this.#source,
        childPath,
        `"${child}" is not a valid group name (letters, digits, "_", "." and "-")`,
      );
    }
    const reserved = RESERVED_GROUPS.has(child);
    if (reserved)
      this.#findings.problem(
        this.#source,
        childPath,
        `"${child}" is a group drover defines itself; use another name`,
      );
    if (!reserved && !group.children.includes(child)) {
      group.children.push(child);
      group.childPlaces.set(child, { src: this.#source, path: childPath });
    }
  }

  /** `address`, when given, is this host's one of a range entry's addresses. */
  #host(
    name: string,
    body: Record<string, unknown> | null,
    path: DocPath,
    address: string | undefined,
  ): HostAcc {
    let host = this.#hosts.get(name);
    if (!host) {
      host = {
        name,
        order: this.#hosts.size,
        firstSrc: this.#source,
        firstPath: path,
        written: writtenVars(),
        vars: {},
        folder: undefined,
        fromRange: false,
        chain: this.#noGroups,
      };
      this.#hosts.set(name, host);
    }
    if (!body) return host;
    for (const key in body) {
      const raw = address !== undefined && key === 'address' ? address : body[key];
      this.#setVar(host, key, raw, path, this.#hostConflict);
    }
    return host;
  }

  #setVar(
    owner: { name: string; written: WrittenVars; vars: Vars },
    key: string,
    raw: unknown,
    parent: DocPath,
    conflict: Conflict,
  ) {
    const src = this.#source;
    if (!this.#goodNames.has(key)) {
      if (!this.#varNameOk(key, parent)) return;
      this.#goodNames.add(key);
    }
    const first = writtenVar(owner.written, key);
    // Written twice in one file: a mistake unless the values agree. A later file replaces it.
    if (first && first.src === src) {
      if (!sameValue(first.raw, raw))
        this.#findings.problem(src, [...parent, key], conflict(owner.name, key, pathOf(first)));
      return;
    }
    owner.written[key] = { raw, parent, key, src };
    // Most vars are plain scalars that need nothing done: no path is built for them.
    let special = this.#specialNames.get(key);
    if (special === undefined)
      this.#specialNames.set(key, (special = PATH_VARS.has(key) || isSecretVarName(key)));
    const plain = (typeof raw !== 'object' || raw === null) && !special;
    owner.vars[key] = plain ? raw : prepareVar(key, raw, [...parent, key], this.#ctx as VarContext);
  }

  /** Whether `key` may be a var name; reports why not. */
  #varNameOk(key: string, parent: DocPath): boolean {
    const src = this.#source;
    if (!VAR_NAME.test(key)) {
      this.#findings.problem(
        src,
        [...parent, key],
        `"${key}" is not a valid variable name (letters, digits and "_", not starting with a digit)`,
      );
      return false;
    }
    if (key === 'inventory_hostname') {
      this.#findings.problem(src, [...parent, key], 'is set by drover to the host name; remove it');
      return false;
    }
    // Vars become object keys everywhere (templates, hostvars); this one would be a prototype.
    if (key === '__proto__') {
      this.#findings.problem(src, [...parent, key], 'is not a valid variable name (JavaScript reserves it)');
      return false;
    }
    return true;
  }
}
