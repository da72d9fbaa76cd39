// Go's json.NewDecoder(r).Decode(&v) as far as the stand-in needs it: the first JSON value of a
// text, with encoding/json's texts for an empty body, a value cut short and a bad first character.

/** Where the first JSON value in `text` (from `start`, at a non-space) ends; -1 when it is cut short. */
function endOfValue(text, start) {
  const open = text[start];
  if (open === '"') {
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === '"') return i + 1;
    }
    return -1;
  }
  if (open === '{' || open === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '"') { const e = endOfValue(text, i); if (e < 0) return -1; i = e - 1; }
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') { depth--; if (depth === 0) return i + 1; }
    }
    return -1;
  }
  const m = /^[^\s,\]}]*/.exec(text.slice(start));
  return start + m[0].length;
}

/**
 * Go's json.NewDecoder(body).Decode(&v), as Consul's decodeBody (lib.DecodeJSON) does it: the
 * first JSON value of the body counts, whatever follows it (the Go client ends it with a newline)
 * is not read; an empty body is `EOF`, a value cut short `unexpected EOF`.
 */
export function decodeJsonValue(text) {
  const start = text.search(/\S/);
  if (start < 0) throw new Error('EOF');
  if (!/[{["\-0-9tfn]/.test(text[start])) throw new Error(`invalid character '${text[start]}' looking for beginning of value`);
  const end = endOfValue(text, start);
  if (end < 0) throw new Error('unexpected EOF');
  try { return JSON.parse(text.slice(start, end)); } catch (e) { throw new Error(`invalid JSON: ${e.message}`); }
}
