import { dirname } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { validateYaml } from '../config/schema.js';
import type { YamlFile } from '../config/yaml-file.js';
import type { Inventory } from './types.js';
import type { VarContext } from './var-values.js';
import { buildGroups, buildHosts } from './resolve/build.js';
import { assignChains, chainResolver } from './resolve/chains.js';
import { checkAddresses, warnHostGroupNames } from './resolve/checks.js';
import { byPosition, Findings } from './resolve/findings.js';
import { checkGraph, depths, memberships } from './resolve/graph.js';
import { varLocator } from './resolve/locate.js';
import type { Source } from './resolve/model.js';
import { InventoryReader, type VarsFolder } from './resolve/read.js';

export type { Source } from './resolve/model.js';
export type { VarsFolder } from './resolve/read.js';

export interface ResolveOptions {
  /** Where `{ env: NAME }` values come from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** For `~/` in ssh_key and ssh_known_hosts; defaults to the user's home directory. */
  homeDir?: string;
}

/** One inventory: a YAML file, or an inventory script's output reshaped as one (no host ranges there). */
export interface InventoryDocument {
  readonly src: Source;
  readonly ranges: boolean;
}

/** Everything an inventory is made of, read and parsed (load.ts finds and reads it). */
export interface InventoryInput {
  /** In `-i` order: later ones add hosts and groups and replace vars. The first names the inventory. */
  readonly documents: readonly InventoryDocument[];
  /** group_vars/ and host_vars/ beside them, in the order they apply (see vars-folders.ts). */
  readonly varsFolders?: readonly VarsFolder[];
}

/** One YAML inventory file; see resolveInventoryInput. */
export function resolveInventory(yaml: YamlFile, options: ResolveOptions = {}): Inventory {
  return resolveInventoryInput({ documents: [{ src: yaml, ranges: true }] }, options);
}

/**
 * Builds the Inventory from its parsed files, in stages (resolve/): the schema, reading the
 * documents and then the vars files (read.ts), the children graph (graph.ts), each host's chain
 * of groups (chains.ts), the output groups and hosts (build.ts), and the checks across hosts
 * (checks.ts). Every problem is located in its file; one ConfigError lists them all, in file order.
 *
 * Pure apart from reading `options.env` (process.env by default) for `{ env: NAME }` values.
 * Linear in the size of the files: a 100k-host inventory loads in about a second.
 *
 * Precedence of vars for a host, as Ansible's (docs/inventory.md): the inventory files' group
 * vars (`all` < parent group < child group), then group_vars/ files in the same group order,
 * then the host's own vars in the inventory files, then its host_vars/ files. A group's depth is
 * its longest distance from `all`; deeper groups win. Between groups at the same depth
 * (unrelated groups), the one that comes later in the inventory wins, and a warning says so when
 * their values differ.
 */
export function resolveInventoryInput(input: InventoryInput, options: ResolveOptions = {}): Inventory {
  const [first] = input.documents;
  if (!first) throw new Error('resolveInventoryInput: no inventory document');
  const folders = input.varsFolders ?? [];
  const files = [
    ...input.documents.map((d) => d.src.file),
    ...folders.flatMap((f) => [f.where, ...f.files.map((s) => s.file)]),
  ];
  // Schema problems mean the shape is wrong; the stages below assume the shape, so they only
  // run on valid documents (a compiler's stages: all syntax errors, then all semantic ones).
  const schemaProblems: ConfigProblem[] = [];
  for (const d of input.documents) schemaProblems.push(...validateYaml('inventory.schema.json', d.src));
  for (const f of folders) for (const src of f.files) schemaProblems.push(...validateVarsFile(src));
  if (schemaProblems.length > 0) throw new ConfigError(byPosition(schemaProblems, files));

  const findings = new Findings();
  const ctxOf = (src: Source, baseDir: string): VarContext => ({
    env: options.env ?? process.env,
    baseDir,
    homeDir: options.homeDir,
    problem: (path, message) => findings.problem(src, path, message),
  });
  const reader = new InventoryReader(findings);
  for (const d of input.documents) reader.document(d.src, ctxOf(d.src, dirname(d.src.file)), d);
  for (const f of folders) reader.varsFolder(f, (src) => ctxOf(src, f.baseDir));
  const walk = reader.walk();
  // Depth and membership below assume an acyclic graph; every other problem is collected on.
  if (!checkGraph(walk, findings)) throw new ConfigError(byPosition(findings.problems, files));

  const membersOf = memberships(walk.groups);
  assignChains(walk, membersOf);
  const groups = buildGroups(walk, membersOf);
  const hosts = buildHosts(walk, chainResolver(depths(walk.groups)), findings);
  checkAddresses(hosts, walk, findings);
  warnHostGroupNames(walk, findings);
  if (findings.problems.length > 0) throw new ConfigError(byPosition(findings.problems, files));

  // What locating a var needs outlives this call; nothing else of the walk should.
  for (const g of walk.groups.values()) g.directSet.clear();
  return {
    file: first.src.file,
    hosts,
    groups,
    warnings: findings.warnings,
    locateVar: varLocator(walk.hosts),
  };
}

/**
 * A group_vars/ or host_vars/ file holds what a group's `vars:` would: checked by the same
 * schema, as `all.vars` of a document that is only that, and located in the file itself.
 */
function validateVarsFile(src: Source): ConfigProblem[] {
  const inner = (path: readonly (string | number)[]) => path.slice(2);
  return validateYaml('inventory.schema.json', {
    file: src.file,
    value: { all: { vars: src.value } },
    locate: (path) => src.locate(inner(path)),
    problem: (path, message) => src.problem(inner(path), message),
  });
}
