import type { AnyModule } from '../modules/module.js';

/**
 * The modules a playbook may use, by their snake_case name. Accepts a Map or a plain record, so
 * `builtinModules()` can return either and tests can pass `{ probe: probeModule }`.
 */
export type ModuleMap = ReadonlyMap<string, AnyModule> | Readonly<Record<string, AnyModule>>;

export function moduleLookup(modules: ModuleMap): ReadonlyMap<string, AnyModule> {
  if (modules instanceof Map) return modules as ReadonlyMap<string, AnyModule>;
  return new Map(Object.entries(modules as Readonly<Record<string, AnyModule>>));
}
