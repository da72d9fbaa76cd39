import { Secret } from '../shell/secret.js';

/**
 * Clear text of every Secret inside a value (task vars, args), so module output that came back
 * from a host (stdout, an old config file, an error) can be scrubbed before anyone sees it.
 */
export function secretsIn(value: unknown, seen = new Set<unknown>()): string[] {
  if (value instanceof Secret) return [value.reveal()];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  const children = Array.isArray(value)
    ? value
    : value instanceof Map
      ? [...value.values()]
      : Object.values(value as Record<string, unknown>);
  return children.flatMap((v) => secretsIn(v, seen));
}
