import { ConsulOutputError } from './output-error.js';

/**
 * Small readers for Consul's JSON answers. Each failure names the endpoint and the field path
 * (`GET /v1/agent/self: Member.Status: expected a number, got "1"`), so a proxy's HTML error
 * page or a changed API is reported as exactly that, not as a crash three calls later.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

export function parseJsonBody(body: string, source: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    const snippet = body.trim().slice(0, 120);
    throw new ConsulOutputError(
      source,
      snippet ? `the body is not JSON: ${snippet}` : 'the body is empty, expected JSON',
    );
  }
}

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'string'
        ? JSON.stringify(v).slice(0, 60)
        : typeof v;

export function asObject(value: unknown, source: string, path: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConsulOutputError(source, `${path || 'body'}: expected an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

export function asArray(value: unknown, source: string, path: string): readonly unknown[] {
  if (!Array.isArray(value))
    throw new ConsulOutputError(source, `${path || 'body'}: expected a list, got ${describe(value)}`);
  return value;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

export function getString(o: JsonObject, key: string, source: string, path = ''): string {
  const v = o[key];
  if (typeof v !== 'string')
    throw new ConsulOutputError(source, `${join(path, key)}: expected a string, got ${describe(v)}`);
  return v;
}

export function getNumber(o: JsonObject, key: string, source: string, path = ''): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ConsulOutputError(source, `${join(path, key)}: expected a number, got ${describe(v)}`);
  }
  return v;
}

export function getBoolean(o: JsonObject, key: string, source: string, path = ''): boolean {
  const v = o[key];
  if (typeof v !== 'boolean')
    throw new ConsulOutputError(source, `${join(path, key)}: expected true or false, got ${describe(v)}`);
  return v;
}

export function optionalString(o: JsonObject, key: string, source: string, path = ''): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : getString(o, key, source, path);
}

/** A map of string values, e.g. `Member.Tags`. */
export function getStringMap(o: JsonObject, key: string, source: string, path = ''): Record<string, string> {
  const where = join(path, key);
  const m = asObject(o[key], source, where);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string')
      throw new ConsulOutputError(source, `${where}.${k}: expected a string, got ${describe(v)}`);
    out[k] = v;
  }
  return out;
}
