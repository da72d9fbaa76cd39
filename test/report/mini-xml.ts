/**
 * A small strict XML reader for tests: elements, attributes, text, the five named entities and
 * numeric references. It throws on anything a real parser would reject in our output (a bare
 * `&` or `<`, mismatched tags, a forbidden control character), so the JUnit tests check
 * well-formedness, not just substrings.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s))
    throw new Error(`bare & in ${JSON.stringify(s)}`);
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : (ENTITIES[e] as string),
  );
}

export function parseXml(xml: string): XmlElement {
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(xml)) throw new Error('forbidden control character');
  let i = 0;
  const decl = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (decl) i = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text.includes('>')) throw new Error(`bare > in text ${JSON.stringify(text)}`);
    const top = stack.at(-1);
    if (top) top.text += decode(text);
    else if (text.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(text)}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`);
    const [whole, close, name = '', attrText = '', selfClose] = m;
    i = lt + whole.length;
    if (close) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g)) {
      if ((a[1] as string) in attrs) throw new Error(`duplicate attribute ${a[1]}`);
      attrs[a[1] as string] = decode(a[2] as string);
    }
    const el: XmlElement = { name, attrs, children: [], text: '' };
    if (top) top.children.push(el);
    else if (root) throw new Error('two roots');
    else root = el;
    if (!selfClose) stack.push(el);
  }
  if (stack.length > 0 || !root) throw new Error('unclosed element');
  return root;
}

export const childrenNamed = (el: XmlElement, name: string): XmlElement[] =>
  el.children.filter((c) => c.name === name);
