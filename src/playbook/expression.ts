import { Secret } from '../shell/secret.js';

/**
 * The condition language of `when`, `until`, `changed_when` and `failed_when`: a small, safe
 * subset of Ansible's Jinja tests, parsed here and evaluated without eval(). It knows dotted
 * names and indexes (`result.rc`, `groups.servers[0]`, `hostvars[inventory_hostname]`),
 * string/number/bool/null literals, lists, comparisons, `in` / `not in`, `and` / `or` / `not`,
 * parentheses, and `is defined` / `is not defined`.
 */
export type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'name'; name: string }
  | { kind: 'member'; object: Expr; key: string }
  | { kind: 'index'; object: Expr; index: Expr }
  | { kind: 'list'; items: Expr[] }
  | { kind: 'not'; operand: Expr }
  | { kind: 'logical'; op: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr }
  | { kind: 'defined'; operand: Expr; negate: boolean };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** A parse or evaluation problem; the caller adds the task and file it belongs to. */
export class ExpressionError extends Error {
  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`condition "${expression}": ${reason}`);
    this.name = 'ExpressionError';
  }
}

/** A parsed condition, kept with its source text for messages. */
export interface Condition {
  readonly source: string;
  readonly expr: Expr;
}

type Token =
  | { t: 'num'; v: number; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'end'; at: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'defined', 'undefined']);
const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', ',', '.'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new ExpressionError(src, `${why} at column ${i + 1}`);
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i++;
      let text = '';
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) {
          const e = src[i + 1] as string;
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else text += src[i++];
      }
      if (i >= src.length) {
        i = start;
        fail('unterminated string');
      }
      i++;
      out.push({ t: 'str', v: text, at: start });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    // A minus sign only starts a number where an operand may start (there is no subtraction).
    if (num && (c !== '-' || out.length === 0 || isOperandStart(out[out.length - 1]))) {
      out.push({ t: 'num', v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op, at: i });
      i += op.length;
      continue;
    }
    fail(`unexpected character "${c}"`);
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

const isOperandStart = (prev: Token | undefined): boolean =>
  prev === undefined ||
  (prev.t === 'op' && prev.v !== ')' && prev.v !== ']') ||
  (prev.t === 'id' && KEYWORDS.has(prev.v));

/** Parses one condition; throws ExpressionError naming the expression and what is wrong. */
export function parseExpression(source: string): Expr {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => tokens[pos++] as Token;
  const isOp = (v: string): boolean => {
    const t = peek();
    return t.t === 'op' && t.v === v;
  };
  const isWord = (v: string, offset = 0): boolean => {
    const t = tokens[pos + offset];
    return t !== undefined && t.t === 'id' && t.v === v;
  };
  const fail = (why: string): never => {
    const t = peek();
    throw new ExpressionError(source, `${why} at column ${t.at + 1}`);
  };
  const expectOp = (v: string): void => {
    if (!isOp(v)) fail(`expected "${v}"`);
    pos++;
  };

  const parseOr = (): Expr => {
    let left = parseAnd();
    while (isWord('or')) {
      pos++;
      left = { kind: 'logical', op: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Expr => {
    let left = parseNot();
    while (isWord('and')) {
      pos++;
      left = { kind: 'logical', op: 'and', left, right: parseNot() };
    }
    return left;
  };
  const parseNot = (): Expr => {
    if (isWord('not')) {
      pos++;
      return { kind: 'not', operand: parseNot() };
    }
    return parseComparison();
  };
  const parseComparison = (): Expr => {
    const left = parseTest();
    const t = peek();
    if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      pos++;
      return { kind: 'compare', op: t.v as CompareOp, left, right: parseTest() };
    }
    if (isWord('in')) {
      pos++;
      return { kind: 'compare', op: 'in', left, right: parseTest() };
    }
    if (isWord('not') && isWord('in', 1)) {
      pos += 2;
      return { kind: 'compare', op: 'not in', left, right: parseTest() };
    }
    return left;
  };
  const parseTest = (): Expr => {
    const operand = parsePostfix();
    if (!isWord('is')) return operand;
    pos++;
    let negate = false;
    if (isWord('not')) {
      pos++;
      negate = true;
    }
    if (isWord('defined')) {
      pos++;
      return { kind: 'defined', operand, negate };
    }
    if (isWord('undefined')) {
      pos++;
      return { kind: 'defined', operand, negate: !negate };
    }
    return fail('expected "defined" or "undefined" after "is"');
  };
  const parsePostfix = (): Expr => {
    let expr = parsePrimary();
    for (;;) {
      if (isOp('.')) {
        pos++;
        const t = next();
        if (t.t === 'id') expr = { kind: 'member', object: expr, key: t.v };
        else if (t.t === 'num' && Number.isInteger(t.v) && t.v >= 0)
          expr = { kind: 'index', object: expr, index: { kind: 'literal', value: t.v } };
        else {
          pos--;
          fail('expected a name after "."');
        }
      } else if (isOp('[')) {
        pos++;
        const index = parseOr();
        expectOp(']');
        expr = { kind: 'index', object: expr, index };
      } else return expr;
    }
  };
  const parsePrimary = (): Expr => {
    const t = next();
    if (t.t === 'num' || t.t === 'str') return { kind: 'literal', value: t.v };
    if (t.t === 'op' && t.v === '(') {
      const inner = parseOr();
      expectOp(')');
      return inner;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: Expr[] = [];
      if (!isOp(']')) {
        items.push(parseOr());
        while (isOp(',')) {
          pos++;
          items.push(parseOr());
        }
      }
      expectOp(']');
      return { kind: 'list', items };
    }
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'True') return { kind: 'literal', value: true };
      if (t.v === 'false' || t.v === 'False') return { kind: 'literal', value: false };
      if (t.v === 'null' || t.v === 'none' || t.v === 'None') return { kind: 'literal', value: null };
      if (!KEYWORDS.has(t.v)) return { kind: 'name', name: t.v };
    }
    pos--;
    return fail(t.t === 'end' ? 'unexpected end of condition' : 'expected a value');
  };

  if (peek().t === 'end') fail('empty condition');
  const expr = parseOr();
  if (peek().t !== 'end') fail('unexpected text');
  return expr;
}

/** Parses a `when`-style value: a string, a YAML boolean, or a list of those (all must hold). */
export function compileConditions(value: unknown): Condition[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    const source = typeof item === 'string' ? item : String(item);
    if (typeof item === 'boolean') return { source, expr: { kind: 'literal', value: item } };
    if (typeof item !== 'string') throw new ExpressionError(source, 'must be a string or a boolean');
    return { source, expr: parseExpression(item) };
  });
}

/** Marks a lookup that found nothing; kept apart from `null`, which is a value. */
const MISSING = Symbol('missing');

/** True when every condition holds for `vars`; errors name the failing expression. */
export function conditionsHold(
  conditions: readonly Condition[],
  vars: Readonly<Record<string, unknown>>,
): boolean {
  return conditions.every((c) => truthy(evaluate(c.expr, vars, c.source)));
}

export function evaluate(expr: Expr, vars: Readonly<Record<string, unknown>>, source: string): unknown {
  const fail = (why: string): never => {
    throw new ExpressionError(source, why);
  };
  const lookup = (e: Expr): unknown => {
    switch (e.kind) {
      case 'name':
        return own(vars, e.name);
      case 'member': {
        const obj = lookup(e.object);
        return obj === MISSING ? MISSING : own(obj, e.key);
      }
      case 'index': {
        const obj = lookup(e.object);
        return obj === MISSING ? MISSING : own(obj, indexKey(value(e.index)));
      }
      default:
        return value(e);
    }
  };
  const value = (e: Expr): unknown => {
    switch (e.kind) {
      case 'literal':
        return e.value;
      case 'name':
      case 'member':
      case 'index': {
        const v = lookup(e);
        if (v === MISSING) fail(`${describe(e)} is not defined`);
        return v;
      }
      case 'list':
        return e.items.map(value);
      case 'not':
        return !truthy(value(e.operand));
      case 'logical': {
        // Short-circuit, so `x is defined and x.rc == 0` never touches a missing x.
        const left = truthy(value(e.left));
        if (e.op === 'and') return left ? truthy(value(e.right)) : false;
        return left ? true : truthy(value(e.right));
      }
      case 'defined': {
        const defined = lookup(e.operand) !== MISSING;
        return e.negate ? !defined : defined;
      }
      case 'compare':
        return compare(e.op, plain(value(e.left)), plain(value(e.right)), fail);
    }
  };
  return value(expr);
}

function indexKey(v: unknown): string | number {
  if (typeof v === 'number' || typeof v === 'string') return v;
  return String(v);
}

/** Only own data of plain objects and arrays: never prototypes, never `constructor`. */
function own(obj: unknown, key: string | number): unknown {
  if (Array.isArray(obj)) {
    const i = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : NaN;
    const at = i < 0 ? obj.length + i : i;
    return Number.isInteger(at) && at >= 0 && at < obj.length ? obj[at] : MISSING;
  }
  if (obj !== null && typeof obj === 'object' && !(obj instanceof Secret)) {
    return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as Record<string, unknown>)[key] : MISSING;
  }
  return MISSING;
}

/** Secrets compare by their clear text; the result is a boolean, so nothing leaks. */
const plain = (v: unknown): unknown => (v instanceof Secret ? v.reveal() : v);

function compare(op: CompareOp, a: unknown, b: unknown, fail: (why: string) => never): boolean {
  switch (op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case 'in':
      return contains(b, a, fail);
    case 'not in':
      return !contains(b, a, fail);
    default: {
      const bothNumbers = typeof a === 'number' && typeof b === 'number';
      const bothStrings = typeof a === 'string' && typeof b === 'string';
      if (!bothNumbers && !bothStrings) fail(`cannot compare ${typeName(a)} with ${typeName(b)} using ${op}`);
      const x = a as number | string;
      const y = b as number | string;
      return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
    }
  }
}

function contains(container: unknown, item: unknown, fail: (why: string) => never): boolean {
  if (Array.isArray(container)) return container.some((c) => equal(plain(c), item));
  if (typeof container === 'string') {
    if (typeof item !== 'string') fail(`"in" a string needs a string, not ${typeName(item)}`);
    return container.includes(item as string);
  }
  if (container !== null && typeof container === 'object') {
    return typeof item === 'string' && Object.prototype.hasOwnProperty.call(container, item);
  }
  return fail(`"in" needs a list, string or mapping on the right, not ${typeName(container)}`);
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => equal(plain(x), plain(b[i])));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(plain(a[k]), plain(b[k])));
  }
  return a === b;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Secret);

/** Python's truthiness, as Ansible users expect: empty strings, lists and mappings are false. */
export function truthy(v: unknown): boolean {
  if (v instanceof Secret) return v.reveal() !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (isRecord(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function describe(e: Expr): string {
  switch (e.kind) {
    case 'name':
      return e.name;
    case 'member':
      return `${describe(e.object)}.${e.key}`;
    case 'index':
      return `${describe(e.object)}[${e.index.kind === 'literal' ? JSON.stringify(e.index.value) : '...'}]`;
    default:
      return 'value';
  }
}
