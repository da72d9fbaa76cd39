/**
 * Ansible's host ranges: `web[01:20].example.com` is web01.example.com ... web20.example.com,
 * `db-[a:f]` is db-a ... db-f, and `[01:20:2]` takes every second one. Several ranges in one name
 * multiply, the first one outermost (`r[1:2]-n[1:2]`: r1-n1, r1-n2, r2-n1, r2-n2), as Ansible
 * expands them. Where Ansible quietly makes no host (`[5:1]`) or mixes forms (`[a:9]`), drover
 * says what is wrong instead.
 */

/** More hosts than this from one entry is almost certainly a typo (`[0:100000]`), and would fill memory. */
export const MAX_RANGE_HOSTS = 100_000;

/** Whether `text` is written as a range (has a `[`), so that expandRange applies to it. */
export const isRange = (text: string): boolean => text.includes('[');

type Part = string | readonly string[];

/**
 * The names `text` stands for, in Ansible's order; or why it is not a range drover can expand.
 * Text without brackets stands for itself.
 */
export function expandRange(text: string): { names: string[] } | { error: string } {
  const parts: Part[] = [];
  let count = 1;
  let rest = text;
  while (rest !== '') {
    const open = rest.indexOf('[');
    const close = rest.indexOf(']');
    if (open < 0) {
      if (close >= 0) return { error: `"${text}" has a "]" with no "[" before it` };
      parts.push(rest);
      break;
    }
    if (close >= 0 && close < open) return { error: `"${text}" has a "]" with no "[" before it` };
    if (close < 0) return { error: `"${text}" has a "[" that is never closed` };
    parts.push(rest.slice(0, open));
    const inner = rest.slice(open + 1, close);
    if (inner.includes('[')) return { error: `"${text}" nests one range in another` };
    const seq = sequence(inner);
    if (typeof seq === 'string') return { error: `[${inner}] ${seq}` };
    parts.push(seq);
    count *= seq.length;
    if (count > MAX_RANGE_HOSTS)
      return {
        error: `"${text}" stands for more than ${MAX_RANGE_HOSTS} names; drover expands at most that many`,
      };
    rest = rest.slice(close + 1);
  }
  let names = [''];
  for (const part of parts) {
    if (typeof part === 'string') names = names.map((n) => n + part);
    else names = names.flatMap((n) => part.map((p) => n + p));
  }
  return { names };
}

const DIGITS = /^[0-9]*$/;
const LETTER = /^[A-Za-z]$/;

/** `BEG:END` or `BEG:END:STEP`: the values, or what is wrong with it. */
function sequence(inner: string): string[] | string {
  const bounds = inner.split(':');
  if (bounds.length !== 2 && bounds.length !== 3)
    return 'is not [BEGIN:END] or [BEGIN:END:STEP] (such as [01:20] or [a:f])';
  const [beg = '', end = '', stepText] = bounds;
  let step = 1;
  if (stepText !== undefined) {
    if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) return 'needs a step of 1 or more';
    step = Number(stepText);
  }
  if (end === '') return 'has no end';
  if (DIGITS.test(beg) && DIGITS.test(end)) {
    // As in Ansible: an empty beginning is 0, and a beginning with a leading zero sets the width.
    const from = Number(beg === '' ? '0' : beg);
    const to = Number(end);
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    if (width > 0 && end.length !== width)
      return `is zero-padded to ${width} digits, so its end needs ${width} digits too`;
    if (from > to) return 'begins after its end';
    if ((to - from) / step >= MAX_RANGE_HOSTS) return `stands for more than ${MAX_RANGE_HOSTS} values`;
    const out: string[] = [];
    for (let i = from; i <= to; i += step) out.push(width > 0 ? String(i).padStart(width, '0') : String(i));
    return out;
  }
  if (LETTER.test(beg) && LETTER.test(end)) {
    const lower = (c: string) => c === c.toLowerCase();
    if (lower(beg) !== lower(end)) return 'mixes lower and upper case';
    const from = beg.charCodeAt(0);
    const to = end.charCodeAt(0);
    if (from > to) return 'begins after its end';
    const out: string[] = [];
    for (let c = from; c <= to; c += step) out.push(String.fromCharCode(c));
    return out;
  }
  return 'needs two numbers (01:20) or two single letters (a:f)';
}
