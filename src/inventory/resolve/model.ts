import type { DocPath, YamlFile } from '../../config/yaml-file.js';
import type { Vars } from '../types.js';
import type { Written, WrittenVars } from './written.js';

/** Groups drover defines itself; a file may not define them as children. */
export const RESERVED_GROUPS: ReadonlySet<string> = new Set(['all', 'ungrouped']);

/**
 * A document the inventory is read from: an inventory file, a group_vars/host_vars file, or an
 * inventory script's output as the document a YAML inventory would be. `pathText` names a path
 * as the user sees it, where that is not the path in `value` (a script's output is reshaped).
 */
export interface Source extends YamlFile {
  readonly pathText?: (path: DocPath) => string;
}

/** A place in one of the sources. */
export interface Place {
  readonly src: Source;
  readonly path: DocPath;
}

/**
 * Vars from group_vars/ or host_vars/ files: a layer above what the inventory files say, as in
 * Ansible. Within it a later file replaces an earlier one's value (a folder's files apply in
 * lexical order; the folders of later `-i` inventories apply after earlier ones).
 */
export interface VarsLayer {
  readonly name: string;
  readonly written: WrittenVars;
  readonly vars: Vars;
}

/** A group as the files describe it, gathered over every place it is mentioned. */
export interface GroupAcc {
  name: string;
  /** Position of the first mention; breaks precedence ties and orders output. */
  order: number;
  firstSrc: Source;
  firstPath: DocPath;
  /** False while every mention is a bare reference (`name:` or `name: {}`). */
  defined: boolean;
  written: WrittenVars;
  vars: Vars;
  /** Its group_vars/ files' vars, when it has any. */
  folder: VarsLayer | undefined;
  children: string[];
  /** Where each child edge was first written, to locate cycles. */
  childPlaces: Map<string, Place>;
  directHosts: string[];
  /** The same hosts, for a membership test that does not scan a 100k-host list per host. */
  directSet: Set<string>;
  /** And their accumulators, in the same order. */
  directAccs: HostAcc[];
}

/** A host as the files describe it, gathered over every group that lists it. */
export interface HostAcc {
  name: string;
  order: number;
  firstSrc: Source;
  firstPath: DocPath;
  written: WrittenVars;
  /** The host's own vars, as prepared; emptied once merged into its Host. */
  vars: Vars;
  /** Its host_vars/ files' vars, when it has any. */
  folder: VarsLayer | undefined;
  /** Listed by a host range (`web[01:20]`): its address, if none is written, is its name. */
  fromRange: boolean;
  /** The groups the host is in, as a node shared by every host in exactly those groups. */
  chain: Chain;
}

/**
 * A sequence of groups (file order, `all` first). Hosts in the same groups share one, so what
 * depends only on a host's groups (the precedence order, the merged group vars, same-depth
 * overrides) is worked out once per distinct set of groups, not once per host: an inventory of
 * 100k hosts in two groups has three chains.
 */
export interface Chain {
  groups: GroupAcc[];
  next: Map<GroupAcc, Chain>;
  resolved?: ResolvedChain;
}

export interface ResolvedChain {
  /** Lowest precedence first: shallower before deeper, then file order. */
  byPrecedence: GroupAcc[];
  /** The groups' vars merged by precedence: the inventory files' first, then group_vars/ over them. */
  vars: Vars;
  /** Vars a group sets over another group at the same depth, in the same layer, with a different value. */
  overrides: { key: string; prev: GroupAcc; winner: GroupAcc; won: Written; id: string }[];
  /** Host.groups: `all`, then `ungrouped` for a host in no other group, then the rest. */
  groupNames: string[];
}

/** The groups and hosts of the inventory, as read; each map in first-mention order. */
export interface Walk {
  readonly groups: ReadonlyMap<string, GroupAcc>;
  readonly hosts: ReadonlyMap<string, HostAcc>;
}
