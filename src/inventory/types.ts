import type { ConfigProblem, SourceLocation } from '../errors.js';

/** Variables as loaded from YAML; secrets are wrapped in Secret by the loader. */
export type Vars = Record<string, unknown>;

export interface Host {
  readonly name: string;
  /** Where SSH connects; also the default bind_addr. */
  readonly address: string;
  /** Every group the host belongs to, directly or through a parent, always including `all`. */
  readonly groups: readonly string[];
  /**
   * Merged vars, by Ansible's precedence (docs/inventory.md): the inventory files' group vars
   * (all < parent group < child group) < group_vars/ (in the same order) < the host's own <
   * host_vars/. Includes `address`.
   */
  readonly vars: Vars;
  /** Where the host is first listed (a range's hosts: the range), for messages; absent for hosts built in code. */
  readonly origin?: SourceLocation;
}

export interface Group {
  readonly name: string;
  readonly vars: Vars;
  readonly children: readonly string[];
  /** Hosts listed directly in this group. */
  readonly directHosts: readonly string[];
  /** Hosts in this group or any descendant, in inventory order. */
  readonly hosts: readonly string[];
  /** Where the group is first listed, for messages; absent for implicit groups (`ungrouped`). */
  readonly origin?: SourceLocation;
}

export interface Inventory {
  /**
   * The file it was loaded from (the first `-i`, when several are merged), for messages; what
   * drover keeps beside an inventory is beside it.
   */
  readonly file: string;
  readonly hosts: ReadonlyMap<string, Host>;
  readonly groups: ReadonlyMap<string, Group>;
  /** Non-fatal findings, e.g. an even number of servers. */
  readonly warnings: readonly ConfigProblem[];
  /**
   * Where the value a host has for `name` was written: the host's own entry or the group whose
   * value won by precedence (`bind_addr` left unset: where `address` was written). Undefined for
   * vars the file does not set, and for inventories built in code.
   */
  readonly locateVar?: (host: string, name: string) => SourceLocation | undefined;
}
