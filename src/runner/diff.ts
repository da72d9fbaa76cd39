import type { FileDiff } from '../modules/module.js';

/** Lines of context around each change, as `diff -u` prints by default. */
const CONTEXT = 3;
/** Above this many line pairs the LCS table gets big; show the whole file replaced instead. */
const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

/**
 * A unified diff (`--- a/path`, `+++ b/path`, `@@ -l,n +l,n @@` hunks) of one file, for --diff.
 * The texts are already redacted by the modules. Returns '' when nothing differs.
 */
export function unifiedDiff(diff: FileDiff): string {
  const before = diff.before === null ? [] : splitLines(diff.before);
  const after = splitLines(diff.after);
  if (diff.before !== null && diff.before === diff.after) return '';
  const ops = lineOps(before, after);
  const header = [
    `--- ${diff.before === null ? '/dev/null' : `a${prefixed(diff.path)}`}`,
    `+++ b${prefixed(diff.path)}`,
  ];
  return [...header, ...hunks(ops)].join('\n') + '\n';
}

/** All file diffs of a change, one after another. */
export function unifiedDiffs(diffs: readonly FileDiff[]): string {
  return diffs.map(unifiedDiff).join('');
}

const prefixed = (path: string): string => (path.startsWith('/') ? path : `/${path}`);

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function lineOps(a: string[], b: string[]): Op[] {
  // Trim the common head and tail first: config edits usually touch a few lines in the middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const ops: Op[] = [];
  for (let i = 0; i < head; i++) ops.push({ kind: ' ', line: a[i] as string, a: i, b: i });
  for (const op of middleOps(midA, midB)) ops.push({ ...op, a: op.a + head, b: op.b + head });
  for (let i = tail; i > 0; i--) {
    ops.push({ kind: ' ', line: a[a.length - i] as string, a: a.length - i, b: b.length - i });
  }
  return ops;
}

function middleOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [
      ...a.map((line, i): Op => ({ kind: '-', line, a: i, b: 0 })),
      ...b.map((line, j): Op => ({ kind: '+', line, a: n, b: j })),
    ];
  }
  // lcs[i][j]: longest common subsequence of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] =
        a[i] === b[j]
          ? (lcs[at(i + 1, j + 1)] as number) + 1
          : Math.max(lcs[at(i + 1, j)] as number, lcs[at(i, j + 1)] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', line: a[i++] as string, a: i - 1, b: j++ });
    else if (j < m && (i >= n || (lcs[at(i, j + 1)] as number) >= (lcs[at(i + 1, j)] as number))) {
      ops.push({ kind: '+', line: b[j++] as string, a: i, b: j - 1 });
    } else ops.push({ kind: '-', line: a[i++] as string, a: i - 1, b: j });
  }
  // `diff -u` lists removals before additions within a run of changes.
  return reorderRuns(ops);
}

function reorderRuns(ops: Op[]): Op[] {
  const out: Op[] = [];
  let run: Op[] = [];
  const flush = () => {
    out.push(...run.filter((o) => o.kind === '-'), ...run.filter((o) => o.kind === '+'));
    run = [];
  };
  for (const op of ops) {
    if (op.kind === ' ') {
      flush();
      out.push(op);
    } else run.push(op);
  }
  flush();
  return out;
}

function hunks(ops: Op[]): string[] {
  const lines: string[] = [];
  const changed = ops.map((o, i) => (o.kind === ' ' ? -1 : i)).filter((i) => i >= 0);
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - CONTEXT);
    let end = Math.min(ops.length - 1, (changed[k] as number) + CONTEXT);
    // Merge changes whose context windows touch, as diff -u does.
    while (k + 1 < changed.length && (changed[k + 1] as number) - CONTEXT <= end + 1) {
      k++;
      end = Math.min(ops.length - 1, (changed[k] as number) + CONTEXT);
    }
    k++;
    const slice = ops.slice(start, end + 1);
    const first = slice[0] as Op;
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    // diff -u numbers an empty range by the line before it.
    const aStart = aCount === 0 ? first.a : first.a + 1;
    const bStart = bCount === 0 ? first.b : first.b + 1;
    lines.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
    for (const o of slice) lines.push(`${o.kind}${o.line}`);
  }
  return lines;
}

const range = (start: number, count: number): string => (count === 1 ? `${start}` : `${start},${count}`);
