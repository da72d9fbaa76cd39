import { containsTemplate } from '../playbook/load-playbook.js';

/**
 * A templated arg that came out a scalar of the wrong kind is converted to the type the module
 * declares for it: `port: "{{ consul_port }}"` gives a number to an integer arg, and
 * `what: "{{ result.rc }}"` gives "0" to a string arg. Only top-level args that were templated
 * are touched; values written literally in the playbook are validated as written.
 */
export function coerceTemplatedArgs(
  raw: Readonly<Record<string, unknown>>,
  rendered: Record<string, unknown>,
  schema: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const properties = (schema['properties'] ?? {}) as Record<string, { type?: string | string[] } | undefined>;
  const out = { ...rendered };
  for (const [key, value] of Object.entries(rendered)) {
    const declared = properties[key]?.type;
    if (declared === undefined || !containsTemplate(raw[key])) continue;
    const types = Array.isArray(declared) ? declared : [declared];
    if (types.includes(typeOf(value))) continue;
    out[key] = convert(value, types);
  }
  return out;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function convert(value: unknown, types: string[]): unknown {
  if (types.includes('string') && (typeof value === 'number' || typeof value === 'boolean'))
    return String(value);
  if (typeof value === 'string') {
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) {
      if (types.includes('integer') && Number.isInteger(n)) return n;
      if (types.includes('number')) return n;
    }
    if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  }
  if (types.includes('number') && typeof value === 'number') return value;
  return value;
}
