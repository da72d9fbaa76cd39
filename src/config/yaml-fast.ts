/**
 * A linear YAML parser for the subset drover's inventories are written in, because the `yaml`
 * library needs 3-7 s and 400-500 MB for a 5 MB inventory of 100k hosts (its nodes, pairs and
 * tokens per scalar) and drover must load one in well under 2 s.
 *
 * The subset: block mappings and sequences (a sequence may sit at its key's indentation, and a
 * sequence item may open a mapping: `- name: x`), plain scalars resolved by YAML 1.2's core
 * schema (as `yaml` does), single- and double-quoted scalars, and flow mappings and sequences
 * (`{ address: 10.0.0.1 }`, `[a, b]`), each on one line; comments, blank lines and one leading
 * `---`. Anything else (anchors and aliases, tags, block scalars, multi-line scalars or flow
 * collections, complex keys, several documents, tabs, a BOM, ...) and anything malformed makes
 * it give up, and the caller parses the file with `yaml` as before: this parser never decides
 * what a document means when `yaml` might read it differently, and `yaml` writes the error
 * messages for broken files.
 *
 * What it returns is what `yaml`'s `toJS()` gives (plain objects and arrays) plus where each
 * value starts, at the same offsets as `yaml`'s node ranges, so that problems are located exactly
 * as before; test/inventory/yaml-fast.test.ts compares the two. Duplicate keys are found in the
 * same pass (`yaml`'s own check compares every key of a map with every other). It stops every
 * STEP_LINES lines, so that an async caller can let signals in between.
 */

export interface FastYaml {
  readonly value: unknown;
  /**
   * Where the value at `path` (or its nearest existing ancestor) starts, as a string offset;
   * undefined for an empty document.
   */
  offsetOf(path: readonly (string | number)[]): number | undefined;
  /** Duplicate keys, found in one pass; reported as `yaml` would with uniqueKeys. */
  readonly duplicates: readonly number[];
}

/** Thrown past the nesting limit: the file is refused whichever parser reads it. */
export class NestingError extends Error {
  constructor(readonly offset: number) {
    super('nesting');
  }
}

/** Outside the subset, or malformed: the full parser decides. Internal to this module. */
class Unsupported extends Error {}
const unsupported = (): never => {
  throw new Unsupported();
};

/** Characters no file in the subset has (tabs, controls, a BOM, a lone CR): one scan, then give up. */
const OUTSIDE_SUBSET = /[\x00-\x08\t\x0b\x0c\x0e-\x1f\x7f\ufeff]|\r(?!\n)/;

/** Lines parsed between two pauses of an async caller. */
export const STEP_LINES = 20_000;

interface MapFrame {
  kind: 'map';
  indent: number;
  node: Record<string, unknown>;
  /** The collection's own record (see #parents), ROOT for the top node. */
  id: number;
}
interface SeqFrame {
  kind: 'seq';
  indent: number;
  node: unknown[];
  id: number;
}
type Frame = MapFrame | SeqFrame;

/** A key whose value was empty on its line: a nested block may follow, else it stays null. */
interface Pending {
  frame: Frame;
  key: string | number;
  /** The key's record, which a nested block takes over. */
  record: number;
  /** The indentation the nested block must exceed (a sequence may also sit at it, under a key). */
  indent: number;
}

const ROOT = -1;
/** The record of a flow mapping key without a value (`{ a, b }`): yaml has no node to locate. */
const NO_NODE = -1;

/**
 * Parses `text` step by step: `step()` does up to STEP_LINES lines and returns true when done;
 * `result()` then gives the document, or undefined when the file is outside the subset (a
 * NestingError is thrown past `maxDepth` levels).
 */
export class FastYamlParser {
  readonly #text: string;
  readonly #maxDepth: number;
  #pos = 0;
  #gaveUp: boolean;
  #stack: Frame[] = [];
  #pending: Pending | undefined;
  #root: unknown = null;
  #rootOffset: number | undefined;
  #docStart = false;
  #content = false;
  /**
   * One record per value: its collection's record, its key or index, where it starts. Three
   * flat arrays, indexed only when something is located: a map or WeakMap entry per value cost
   * more than the rest of the parse (and a file that loads without problems is never located).
   */
  #parents = new Int32Array(1024);
  readonly #keys: (string | number)[] = [];
  #at = new Int32Array(1024);
  #records = 0;
  readonly #duplicates: number[] = [];
  // The line being parsed: [#start, #end) without its newline (and CR).
  #start = 0;
  #end = 0;
  /** Where the token a scanning method just read ends: they return the value, not an object. */
  #after = 0;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
    this.#gaveUp = OUTSIDE_SUBSET.test(text);
  }

  step(): boolean {
    if (this.#gaveUp) return true;
    const text = this.#text;
    try {
      for (let n = 0; n < STEP_LINES; n++) {
        if (this.#pos >= text.length) return true;
        const nl = text.indexOf('\n', this.#pos);
        const next = nl < 0 ? text.length : nl + 1;
        let end = nl < 0 ? text.length : nl;
        if (end > this.#pos && text.charCodeAt(end - 1) === 13) end--;
        this.#start = this.#pos;
        this.#end = end;
        this.#line();
        this.#pos = next;
      }
      return this.#pos >= text.length;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      this.#gaveUp = true;
      return true;
    }
  }

  result(): FastYaml | undefined {
    if (this.#gaveUp) return undefined;
    return {
      value: this.#root,
      duplicates: this.#duplicates,
      offsetOf: recordIndex(
        this.#parents.subarray(0, this.#records),
        this.#keys,
        this.#at.subarray(0, this.#records),
        this.#rootOffset,
      ),
    };
  }

  #line(): void {
    const text = this.#text;
    const end = this.#end;
    let i = this.#start;
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i === end || text[i] === '#') return;
    const indent = i - this.#start;
    if (indent === 0 && (text.startsWith('---', i) || text.startsWith('...', i) || text[i] === '%')) {
      // One `---` before any content is a plain document start; the rest is for the full parser.
      if (!text.startsWith('---', i) || this.#content || this.#docStart) unsupported();
      if (this.#restIsComment(i + 3) !== true) unsupported();
      this.#docStart = true;
      return;
    }
    this.#content = true;
    const dash = this.#isDash(i);

    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      if (indent > pending.indent || (indent === pending.indent && dash && pending.frame.kind === 'map')) {
        this.#open(dash ? 'seq' : 'map', indent, i, pending);
      }
    }
    if (this.#stack.length === 0) {
      if (this.#rootOffset !== undefined) unsupported(); // content after the top node closed
      this.#open(dash ? 'seq' : 'map', indent, i, undefined);
    }
    // Close what this line is outside of; a sequence at its key's indentation ends at that key's
    // next sibling.
    let top = this.#stack[this.#stack.length - 1] as Frame;
    while (top.indent > indent || (top.kind === 'seq' && top.indent === indent && !dash)) {
      this.#stack.pop();
      top = this.#stack[this.#stack.length - 1] ?? unsupported();
    }
    if (top.indent !== indent) unsupported();
    if (top.kind === 'map') {
      if (dash) unsupported();
      this.#entry(top, i);
    } else {
      if (!dash) unsupported();
      this.#item(top, i);
    }
  }

  /** `- ` or a `-` ending the line. */
  #isDash(i: number): boolean {
    const c = this.#text.charCodeAt(i + 1);
    return this.#text[i] === '-' && (i + 1 === this.#end || c === 32);
  }

  #open(kind: 'map' | 'seq', indent: number, at: number, pending: Pending | undefined): void {
    if (this.#stack.length >= this.#maxDepth) throw new NestingError(at);
    const node: Record<string, unknown> | unknown[] = kind === 'map' ? {} : [];
    const id = pending ? pending.record : ROOT;
    this.#stack.push(
      kind === 'map'
        ? { kind, indent, node: node as Record<string, unknown>, id }
        : { kind, indent, node: node as unknown[], id },
    );
    if (pending) {
      // The key's value is this collection, which starts here, not after the colon.
      this.#at[pending.record] = at;
      this.#assign(pending.frame, pending.key, node);
    } else {
      this.#root = node;
      this.#rootOffset = at;
    }
  }

  /** Stores a value and its record; returns the record. */
  #set(frame: Frame, key: string | number, value: unknown, at: number): number {
    const r = this.#records++;
    if (r === this.#at.length) {
      // Typed arrays: no per-element garbage to trace, and doubling keeps appends linear.
      const parents = new Int32Array(r * 2);
      parents.set(this.#parents);
      this.#parents = parents;
      const offsets = new Int32Array(r * 2);
      offsets.set(this.#at);
      this.#at = offsets;
    }
    this.#parents[r] = frame.id;
    this.#keys.push(key);
    this.#at[r] = at;
    this.#assign(frame, key, value);
    return r;
  }

  #assign(frame: Frame, key: string | number, value: unknown): void {
    if (frame.kind === 'seq') {
      frame.node[key as number] = value;
      return;
    }
    const obj = frame.node;
    const k = key as string;
    // As yaml's toJS: every key is an own property. An assignment makes one for any other
    // inherited name (`toString`), but `__proto__` would set the prototype instead.
    if (k === '__proto__')
      Object.defineProperty(obj, k, { value, writable: true, enumerable: true, configurable: true });
    else obj[k] = value;
  }

  /** `key: value`, `key:` (a nested block may follow) in a block mapping. */
  #entry(frame: MapFrame, i: number): void {
    const key = this.#tryBlockKey(i) ?? unsupported();
    if (Object.prototype.hasOwnProperty.call(frame.node, key)) this.#duplicates.push(i);
    this.#afterKey(frame, key, this.#after);
  }

  /** `- value`, `-` (a nested block may follow), `- key: value` (opens a mapping). */
  #item(frame: SeqFrame, i: number): void {
    const index = frame.node.length;
    let k = i + 1;
    while (k < this.#end && this.#text.charCodeAt(k) === 32) k++;
    if (k === this.#end || this.#text[k] === '#') {
      const record = this.#set(frame, index, null, k);
      this.#pending = { frame, key: index, record, indent: frame.indent };
      return;
    }
    if (this.#isDash(k)) unsupported(); // `- - x`
    const key = this.#tryBlockKey(k);
    if (key !== undefined) {
      // A mapping in the item: its keys line up with this first one.
      const afterKey = this.#after;
      const record = this.#set(frame, index, null, k);
      this.#open('map', k - this.#start, k, { frame, key: index, record, indent: frame.indent });
      this.#afterKey(this.#stack[this.#stack.length - 1] as MapFrame, key, afterKey);
      return;
    }
    const record = this.#set(frame, index, null, k);
    this.#assign(frame, index, this.#blockValue(k, record));
  }

  /** After `key:` at `colon + 1`: the value on the line, or a pending nested block. */
  #afterKey(frame: MapFrame, key: string, afterColon: number): void {
    let v = afterColon;
    while (v < this.#end && this.#text.charCodeAt(v) === 32) v++;
    const record = this.#set(frame, key, null, v);
    if (v === this.#end || this.#text[v] === '#') {
      this.#pending = { frame, key, record, indent: frame.indent };
      return;
    }
    this.#assign(frame, key, this.#blockValue(v, record));
  }

  /** A one-line implicit key and its `:` (#after: past the colon), or undefined. */
  #tryBlockKey(i: number): string | undefined {
    const text = this.#text;
    const c = text[i] as string;
    if (c === '"' || c === "'") {
      const value = this.#quoted(i);
      const end = this.#after;
      if (text[end] !== ':') return undefined;
      if (end + 1 !== this.#end && text.charCodeAt(end + 1) !== 32) return undefined;
      this.#after = end + 1;
      return value;
    }
    if (!plainStart(text, i, this.#end, false)) return undefined;
    for (let j = i; j < this.#end; j++) {
      const ch = text.charCodeAt(j);
      if (ch === 35 /* # */ && text.charCodeAt(j - 1) === 32) return undefined; // a comment: no key
      if (ch === 58 /* : */ && (j + 1 === this.#end || text.charCodeAt(j + 1) === 32)) {
        const raw = text.slice(i, j).trimEnd();
        const value = resolvePlain(raw);
        // Keys that are numbers, booleans or null are read by the full parser.
        if (typeof value !== 'string') unsupported();
        this.#after = j + 1;
        return raw;
      }
    }
    return undefined;
  }

  /** A value that starts at `v` and ends the line (but for a comment). */
  #blockValue(v: number, id: number): unknown {
    const text = this.#text;
    const c = text[v] as string;
    if (c === '"' || c === "'") {
      const value = this.#quoted(v);
      if (this.#restIsComment(this.#after) !== true) unsupported();
      return value;
    }
    if (c === '[' || c === '{') {
      const value = this.#flow(v, this.#stack.length + 1, id);
      if (this.#restIsComment(this.#after) !== true) unsupported();
      return value;
    }
    if (!plainStart(text, v, this.#end, false)) unsupported();
    let stop = this.#end;
    for (let j = v + 1; j < this.#end; j++) {
      if (text.charCodeAt(j) === 35 && text.charCodeAt(j - 1) === 32) {
        stop = j;
        break;
      }
    }
    const raw = text.slice(v, stop).trimEnd();
    // `a: b: c` and a trailing `:` are mappings where a scalar was expected: malformed here.
    if (raw.includes(': ') || raw.endsWith(':')) unsupported();
    return resolvePlain(raw);
  }

  /** From `at`: only spaces, then the end of the line or a comment. */
  #restIsComment(at: number): boolean {
    const text = this.#text;
    let j = at;
    while (j < this.#end && text.charCodeAt(j) === 32) j++;
    return j === this.#end || (text[j] === '#' && j > at);
  }

  /** A quoted scalar closed on this line. */
  #quoted(i: number): string {
    const text = this.#text;
    const q = text[i];
    let out = '';
    let j = i + 1;
    let from = j;
    while (j < this.#end) {
      const c = text[j];
      if (q === "'" && c === "'") {
        if (text[j + 1] === "'") {
          out += text.slice(from, j + 1);
          j += 2;
          from = j;
          continue;
        }
        this.#after = j + 1;
        return out + text.slice(from, j);
      }
      if (q === '"' && c === '"') {
        this.#after = j + 1;
        return out + text.slice(from, j);
      }
      if (q === '"' && c === '\\') {
        out += text.slice(from, j);
        const e = escape(text, j + 1, this.#end);
        out += e.text;
        j = e.end;
        from = j;
        continue;
      }
      j++;
    }
    return unsupported(); // continues on the next line
  }

  /** A flow collection closed on this line, at nesting `depth`. */
  #flow(i: number, depth: number, id: number): unknown {
    if (depth > this.#maxDepth) throw new NestingError(i);
    const text = this.#text;
    const isSeq = text[i] === '[';
    const close = isSeq ? ']' : '}';
    const node: Record<string, unknown> | unknown[] = isSeq ? [] : {};
    const frame = { kind: isSeq ? 'seq' : 'map', indent: 0, node, id } as Frame;
    let p = this.#spaces(i + 1);
    if (text[p] === close) {
      this.#after = p + 1;
      return node;
    }
    for (;;) {
      if (p >= this.#end) unsupported();
      if (isSeq) {
        const index = (node as unknown[]).length;
        const record = this.#set(frame, index, null, p);
        this.#assign(frame, index, this.#flowNode(p, depth, false, record));
        p = this.#spaces(this.#after);
      } else {
        const c = text[p];
        const key = c === '"' || c === "'" ? this.#quoted(p) : this.#flowPlain(p, true);
        if (typeof key !== 'string') unsupported();
        const k = key as string;
        if (Object.prototype.hasOwnProperty.call(node, k)) this.#duplicates.push(p);
        p = this.#spaces(this.#after);
        if (text[p] === ':') {
          const after = text[p + 1];
          if (after !== ' ' && after !== ',' && after !== '}') unsupported();
          p = this.#spaces(p + 1);
          const record = this.#set(frame, k, null, p);
          if (text[p] !== ',' && text[p] !== '}') {
            this.#assign(frame, k, this.#flowNode(p, depth, true, record));
            p = this.#spaces(this.#after);
          }
        } else if (text[p] === ',' || text[p] === '}') {
          // `{ a, b }`: keys without values. yaml has no node for them, so none is located.
          this.#set(frame, k, null, NO_NODE);
        } else unsupported();
      }
      if (text[p] === ',') {
        p = this.#spaces(p + 1);
        if (text[p] !== close) continue;
      }
      if (text[p] === close) {
        this.#after = p + 1;
        return node;
      }
      unsupported();
    }
  }

  #flowNode(p: number, depth: number, inMap: boolean, id: number): unknown {
    const c = this.#text[p];
    if (c === '[' || c === '{') return this.#flow(p, depth + 1, id);
    if (c === '"' || c === "'") return this.#quoted(p);
    return this.#flowPlain(p, inMap);
  }

  /**
   * A plain scalar inside a flow collection: ends at `,`, the collection's closing bracket
   * (`}` in a mapping, `]` in a sequence), `: ` or a comment.
   */
  #flowPlain(p: number, inMap: boolean): unknown {
    const text = this.#text;
    if (!plainStart(text, p, this.#end, true)) unsupported();
    const close = inMap ? '}' : ']';
    let j = p;
    for (; j < this.#end; j++) {
      const c = text[j] as string;
      if (c === ',' || c === close) break;
      if (c === '[' || c === ']' || c === '{' || c === '}') unsupported();
      if (c === ':') {
        const n = text[j + 1];
        if (j + 1 === this.#end || n === ' ' || n === ',' || n === '}' || n === ']') break;
        // `10.0.0.1:8302`, `http://h:1`: a colon inside a plain scalar, as in YAML 1.2.
        if (n === '[' || n === '{') unsupported();
      }
      if (c === '#' && text.charCodeAt(j - 1) === 32) unsupported();
    }
    const raw = text.slice(p, j).trimEnd();
    if (raw === '') unsupported();
    this.#after = p + raw.length;
    return resolvePlain(raw);
  }

  #spaces(p: number): number {
    while (p < this.#end && this.#text.charCodeAt(p) === 32) p++;
    return p;
  }
}

/**
 * Looks records up by path. The index is built on the first lookup, in two typed arrays: the
 * records grouped by collection (a counting sort, which keeps file order), so that a small
 * collection is scanned and only a big one (a group of many hosts) gets a map of its keys.
 */
function recordIndex(
  parents: Int32Array,
  keys: readonly (string | number)[],
  at: Int32Array,
  rootOffset: number | undefined,
): (path: readonly (string | number)[]) => number | undefined {
  let order: Int32Array | undefined;
  let starts: Int32Array | undefined;
  const big = new Map<number, Map<string | number, number>>();
  const build = () => {
    const n = parents.length;
    // Collection c's children are order[starts[c + 1] .. starts[c + 2]); c = ROOT (-1) is the top.
    starts = new Int32Array(n + 2);
    for (let r = 0; r < n; r++) (starts[(parents[r] as number) + 2] as number)++;
    for (let c = 1; c < n + 2; c++) starts[c] = (starts[c] as number) + (starts[c - 1] as number);
    const fill = starts.slice(0, n + 1);
    order = new Int32Array(n);
    for (let r = 0; r < n; r++) order[(fill[(parents[r] as number) + 1] as number)++] = r;
  };
  const child = (parent: number, key: string | number): number | undefined => {
    const o = order as Int32Array;
    const from = (starts as Int32Array)[parent + 1] as number;
    const to = (starts as Int32Array)[parent + 2] as number;
    if (to - from <= 16) {
      for (let i = from; i < to; i++) if (keys[o[i] as number] === key) return o[i];
      return undefined;
    }
    let m = big.get(parent);
    if (!m) {
      m = new Map();
      for (let i = from; i < to; i++) m.set(keys[o[i] as number] as string | number, o[i] as number);
      big.set(parent, m);
    }
    return m.get(key);
  };
  return (path) => {
    if (!order) build();
    let best = rootOffset;
    let node = ROOT;
    for (const seg of path) {
      const r = child(node, seg);
      if (r === undefined || at[r] === NO_NODE) break;
      best = at[r];
      node = r;
    }
    return best;
  };
}

/**
 * Whether a plain scalar may start at `i`: not with an indicator, and `-`, `?`, `:` only when a
 * character that is not a space follows (`-1`, `:x`).
 */
function plainStart(text: string, i: number, end: number, flow: boolean): boolean {
  const c = text[i] as string;
  if ('-?:'.includes(c)) {
    const n = text[i + 1];
    return i + 1 < end && n !== ' ' && !(flow && n !== undefined && ',[]{}'.includes(n));
  }
  return !',[]{}#&*!|>\'"%@`'.includes(c);
}

/** YAML 1.2 double-quoted escapes; anything else is left to the full parser. */
function escape(text: string, i: number, end: number): { text: string; end: number } {
  const c = text[i];
  const simple: Record<string, string> = {
    '0': '\0',
    a: '\x07',
    b: '\b',
    t: '\t',
    n: '\n',
    v: '\v',
    f: '\f',
    r: '\r',
    e: '\x1b',
    ' ': ' ',
    '"': '"',
    '/': '/',
    '\\': '\\',
    N: '\u0085',
    _: '\u00a0',
    L: '\u2028',
    P: '\u2029',
  };
  if (c !== undefined && c in simple) return { text: simple[c] as string, end: i + 1 };
  const digits = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (digits === 0 || i + 1 + digits > end) return unsupported();
  const hex = text.slice(i + 1, i + 1 + digits);
  if (!/^[0-9a-fA-F]+$/.test(hex)) return unsupported();
  const code = parseInt(hex, 16);
  if (code > 0x10ffff) return unsupported();
  return { text: String.fromCodePoint(code), end: i + 1 + digits };
}

/**
 * A plain scalar as YAML 1.2's core schema reads it (the tags of `yaml`'s core schema, in their
 * order): null, booleans, octal/decimal/hex integers, .inf/.nan, floats; anything else a string.
 */
function resolvePlain(s: string): unknown {
  switch (s[0]) {
    case undefined:
      return null;
    case '~':
    case 'n':
    case 'N':
      return /^(?:~|[Nn]ull|NULL)$/.test(s) ? null : s;
    case 't':
    case 'T':
      return /^(?:[Tt]rue|TRUE)$/.test(s) ? true : s;
    case 'f':
    case 'F':
      return /^(?:[Ff]alse|FALSE)$/.test(s) ? false : s;
  }
  const c = s.charCodeAt(0);
  // Numbers start with a digit, a sign or a dot; most scalars are names and words.
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return s;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) {
    if (s.slice(-3).toLowerCase() === 'nan') return NaN;
    return s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}
