// Decodes one parsed config file against the schema the way Consul's decoder (mitchellh/
// mapstructure, with Consul's HookTranslateKeys) does, and the Go texts its errors carry:
// type errors ("'x' expected type 'bool', got unconvertible type 'string', value: 'yes'"),
// unused keys (reported by Consul as "invalid config key x"), Go %q/%v formatting, Go
// time.ParseDuration errors and Go's os.PathError texts.
import { Alias, ListOf, MapOf } from './config-schema.mjs';

// --- Go text helpers --------------------------------------------------------------------------

/** Go's %q for a string (strconv.Quote). */
export function goQuote(s) {
  const esc = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
  let out = '"';
  for (const ch of String(s)) {
    const code = ch.codePointAt(0);
    if (esc[ch]) out += esc[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %v for a float64 (shortest digits; exponent form from 1e+06 up and below 1e-04). */
export function goFloat(n) {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** The Go type a JSON value decodes to (encoding/json into interface{}). */
export function goType(v) {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** reflect.Kind of such a value, as mapstructure names it in "expected a map, got '...'". */
export function goKind(v) {
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'number') return 'float64';
  if (v && typeof v === 'object') return 'map';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/** Go's %v of such a value (maps print with sorted keys). */
export function goValue(v) {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (v && typeof v === 'object') {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') return goFloat(v);
  return v === null ? '<nil>' : String(v);
}

const ERRNO_TEXT = {
  EACCES: 'permission denied', ENOENT: 'no such file or directory', ENOTDIR: 'not a directory',
  EISDIR: 'is a directory', ELOOP: 'too many levels of symbolic links', EPERM: 'operation not permitted',
  EMFILE: 'too many open files', ENAMETOOLONG: 'file name too long', EIO: 'input/output error',
};

/** Go's os.PathError text ("open /x: permission denied") for a Node fs error. */
export function goPathError(e, op, path) {
  return `${op} ${path}: ${ERRNO_TEXT[e.code] ?? e.message}`;
}

const UNIT_NS = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };

/** Go's time.ParseDuration, in milliseconds; throws an Error carrying Go's message. */
export function goParseDuration(text) {
  const orig = String(text);
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') { neg = s[0] === '-'; s = s.slice(1); }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let ns = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (!num[1] && !num[2]) throw invalid(); // no digits, e.g. ".s" or "x"
    s = s.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(s)[0];
    if (!unit) throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    if (!(unit in UNIT_NS)) throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(orig)}`);
    s = s.slice(unit.length);
    ns += Number(`${num[1] || '0'}.${num[2] || '0'}`) * UNIT_NS[unit];
  }
  if (ns > 2 ** 63 - 1) throw invalid();
  return (neg ? -ns : ns) / 1e6;
}

// --- decoding against the schema -----------------------------------------------------------------

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStruct = (t) => isObject(t) && !(t instanceof ListOf) && !(t instanceof MapOf) && !(t instanceof Alias);

/**
 * Decodes a parsed JSON object into the shape of `schema`: keys become their canonical names
 * (mapstructure matches a key case-insensitively when no exact match exists; `alias` keys are
 * renamed first, the canonical key winning when both are set), nulls are dropped (a nil pointer
 * in Go: the key stays unset), ints are truncated as Go converts a float64. Collects mapstructure's
 * type errors and the unused keys, the latter in Go's order: a nested struct's unused keys are
 * found while its field is decoded, so they come before the unused keys of the level around it
 * (within one object Go's order is random; sorted here).
 */
export function decodeConfig(obj, schema) {
  const out = { typeErrors: [], unused: [] };
  const value = decodeStruct(obj, schema, '', out);
  return { value: value ?? {}, ...out };
}

function decodeStruct(obj, schema, name, out) {
  if (!isObject(obj)) {
    out.typeErrors.push(`'${name}' expected a map, got '${goKind(obj)}'`);
    return undefined;
  }
  const data = new Map(Object.entries(obj));
  for (const [k, v] of [...data]) {
    const a = schema[k.toLowerCase()];
    if (!(a instanceof Alias)) continue;
    data.delete(k);
    if (!data.has(a.to)) data.set(a.to, v);
  }
  const result = {};
  const used = new Set();
  for (const [field, type] of Object.entries(schema)) {
    if (type instanceof Alias) continue;
    const key = data.has(field) ? field : [...data.keys()].find((k) => !used.has(k) && k.toLowerCase() === field);
    if (key === undefined) continue;
    used.add(key);
    const v = decodeValue(data.get(key), type, name ? `${name}.${field}` : field, out);
    if (v !== undefined) result[field] = v;
  }
  for (const k of [...data.keys()].filter((x) => !used.has(x)).sort()) out.unused.push(name ? `${name}.${k}` : k);
  return result;
}

const isListType = (t) => t === 'strings' || t === 'any' || t instanceof ListOf;

function decodeValue(v, type, name, out) {
  if (v === null || v === undefined) return undefined;
  // Consul's HookWeakDecodeFromSlice: a one-element list stands for its element where no list
  // is expected (HCL blocks converted to JSON look like that: "telemetry": [{...}]).
  if (Array.isArray(v) && v.length === 1 && !isListType(type)) return decodeValue(v[0], type, name, out);
  const bad = (expected) => {
    out.typeErrors.push(`'${name}' expected type '${expected}', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
    return undefined;
  };
  const needMap = () => {
    if (isObject(v)) return true;
    out.typeErrors.push(`'${name}' expected a map, got '${goKind(v)}'`);
    return false;
  };
  const needList = () => {
    if (Array.isArray(v)) return true;
    out.typeErrors.push(`'${name}': source data must be an array or slice, got ${goKind(v)}`);
    return false;
  };
  if (type === 'any') return v;
  if (type === 'string' || type === 'duration') return typeof v === 'string' ? v : bad('string');
  if (type === 'bool') return typeof v === 'boolean' ? v : bad('bool');
  if (type === 'int') return typeof v === 'number' ? Math.trunc(v) : bad('int');
  if (type === 'float') return typeof v === 'number' ? v : bad('float64');
  if (type === 'uint') {
    if (typeof v !== 'number') return bad('uint');
    if (v < 0) { out.typeErrors.push(`cannot parse '${name}', ${v.toFixed(6)} overflows uint`); return undefined; }
    return Math.trunc(v);
  }
  if (type === 'strings') return needList() ? v.map((x, i) => decodeValue(x, 'string', `${name}[${i}]`, out) ?? '') : undefined;
  if (type === 'map') return needMap() ? v : undefined;
  if (type === 'stringMap' || type === 'stringsMap') {
    if (!needMap()) return undefined;
    const elem = type === 'stringMap' ? 'string' : 'strings';
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeValue(x, elem, `${name}[${k}]`, out) ?? (elem === 'string' ? '' : [])]));
  }
  if (type instanceof ListOf) return needList() ? v.map((x, i) => decodeValue(x, type.of, `${name}[${i}]`, out) ?? {}) : undefined;
  if (type instanceof MapOf) {
    if (!needMap()) return undefined;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeValue(x, type.of, `${name}[${k}]`, out) ?? {}]));
  }
  if (isStruct(type)) return decodeStruct(v, type, name, out);
  throw new Error(`config schema: unknown type ${String(type)} for ${name}`);
}

export { isStruct };
