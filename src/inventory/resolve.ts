import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
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
import { readInventory } from './resolve/read.js';

export interface ResolveOptions {
  /** Where `{ env: NAME }` values come from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** For `~/` in ssh_key and ssh_known_hosts; defaults to the user's home directory. */
  homeDir?: string;
}

/**
 * Builds the Inventory from a parsed YAML file, in stages (resolve/): the schema, reading the
 * document (read.ts), the children graph (graph.ts), each host's chain of groups (chains.ts),
 * the output groups and hosts (build.ts), and the checks across hosts (checks.ts). Every problem
 * is located; one ConfigError lists them all, in file order.
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
  // Schema problems mean the shape is wrong; the stages below assume the shape, so they only
  // run on a valid document (a compiler's stages: all syntax errors, then all semantic ones).
  const schemaProblems = validateYaml('inventory.schema.json', yaml);
  if (schemaProblems.length > 0) throw new ConfigError(byPosition(schemaProblems));

  const findings = new Findings(yaml);
  const ctx: VarContext = {
    env: options.env ?? process.env,
    baseDir: dirname(yaml.file),
    homeDir: options.homeDir,
    problem: (path, message) => findings.problem(path, message),
  };
  const walk = readInventory((yaml.value as { all: Record<string, unknown> | null }).all, findings, ctx);
  // Depth and membership below assume an acyclic graph; every other problem is collected on.
  if (!checkGraph(walk, findings)) throw new ConfigError(byPosition(findings.problems));

  const membersOf = memberships(walk.groups);
  assignChains(walk, membersOf);
  const groups = buildGroups(yaml, walk, membersOf);
  const hosts = buildHosts(yaml, walk, chainResolver(depths(walk.groups)), findings);
  checkAddresses(hosts, walk, findings);
  warnHostGroupNames(walk, findings);
  if (findings.problems.length > 0) throw new ConfigError(byPosition(findings.problems));

  // What locating a var needs outlives this call; nothing else of the walk should.
  for (const g of walk.groups.values()) g.directSet.clear();
  const locateVar = varLocator(walk.hosts, yaml.file, yaml.locate);
  return { file: yaml.file, hosts, groups, warnings: findings.warnings, locateVar };
}
