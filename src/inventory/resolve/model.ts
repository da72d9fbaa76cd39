import type { DocPath } from '../../config/yaml-file.js';
import type { Vars } from '../types.js';
import type { WrittenVars } from './written.js';

/** Groups drover defines itself; a file may not define them as children. */
export const RESERVED_GROUPS: ReadonlySet<string> = new Set(['all', 'ungrouped']);

/** A group as the file describes it, gathered over every place it is mentioned. */
export interface GroupAcc {
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

/** A host as the file describes it, gathered over every group that lists it. */
export interface HostAcc {
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
export interface Chain {
  groups: GroupAcc[];
  next: Map<GroupAcc, Chain>;
  resolved?: ResolvedChain;
}

export interface ResolvedChain {
  /** Lowest precedence first: shallower before deeper, then file order. */
  byPrecedence: GroupAcc[];
  /** The groups' vars merged by precedence. */
  vars: Vars;
  /** Vars a group sets over another group at the same depth with a different value. */
  overrides: { key: string; prev: GroupAcc; winner: GroupAcc; id: string }[];
  /** Host.groups: `all`, then `ungrouped` for a host in no other group, then the rest. */
  groupNames: string[];
}

/** The groups and hosts of one file, as read; each map in first-mention order. */
export interface Walk {
  readonly groups: ReadonlyMap<string, GroupAcc>;
  readonly hosts: ReadonlyMap<string, HostAcc>;
}
