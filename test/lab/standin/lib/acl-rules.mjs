// ACL policy rules (acl/policy.go): HCL or JSON text with node/service/agent/key/query/
// session/event rules (exact and _prefix) and the scalar operator/keyring/acl/mesh/peering
// rules, parsed into { segmented: {node: {exact, prefix}, ...}, scalar: {operator: 'write', ...} }.

export const SEGMENTED = ['agent', 'event', 'key', 'node', 'query', 'service', 'session'];
export const SCALAR = ['acl', 'keyring', 'mesh', 'operator', 'peering'];
const LEVELS = new Set(['deny', 'read', 'write']);

export class RulesError extends Error {}
/** A rule that parses but is not valid (acl/policy.go isPolicyValid): reported without the parse prefix. */
class InvalidRuleError extends RulesError {}

/** Tokens of the HCL subset policies are written in: idents, strings, = { } [ ] , and comments. */
function tokenize(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new RulesError('comment not terminated');
      i = end + 2;
      continue;
    }
    if ('={}[],:'.includes(c)) {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\n') throw new RulesError('literal not terminated');
        if (text[j] === '\\') {
          j++;
          s += { n: '\n', t: '\t', '"': '"', '\\': '\\' }[text[j]] ?? text[j];
        } else s += text[j];
      }
      if (j >= text.length) throw new RulesError('literal not terminated');
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(i));
    if (!m) throw new RulesError(`illegal char ${JSON.stringify(c)}`);
    out.push({ t: 'ident', v: m[0] });
    i += m[0].length;
  }
  return out;
}

/** An HCL body: `key [ "label" ] ( = value | { body } )` repeated; values are strings or objects. */
function parseBody(toks, pos, closing) {
  const obj = [];
  while (pos.i < toks.length && toks[pos.i].t !== closing) {
    const key = toks[pos.i++];
    if (key.t !== 'ident' && key.t !== 'str')
      throw new RulesError(`unexpected token ${key.t === 'str' ? JSON.stringify(key.v) : key.t}`);
    let label;
    if (toks[pos.i]?.t === 'str') label = toks[pos.i++].v;
    let value;
    if (toks[pos.i]?.t === '=' || toks[pos.i]?.t === ':') pos.i++;
    const next = toks[pos.i];
    if (!next) throw new RulesError(`key '${key.v}' expected start of object ('{') or assignment ('=')`);
    if (next.t === '{') {
      pos.i++;
      value = parseBody(toks, pos, '}');
      pos.i++;
    } else if (next.t === 'str') {
      pos.i++;
      value = next.v;
    } else throw new RulesError(`key '${key.v}' expected start of object ('{') or assignment ('=')`);
    obj.push({ key: key.v, label, value });
    if (toks[pos.i]?.t === ',') pos.i++;
  }
  if (closing === '}' && pos.i >= toks.length)
    throw new RulesError('object expected closing RBRACE got: EOF');
  return obj;
}

function checkLevel(kind, name, policy) {
  const ok = LEVELS.has(policy) || ((kind === 'key' || kind === 'key_prefix') && policy === 'list');
  if (!ok)
    throw new InvalidRuleError(
      `Invalid ${kind.replace('_prefix', '')} policy: ${JSON.stringify({ Name: name, Policy: policy })}`,
    );
}

function fromPairs(pairs) {
  const rules = { segmented: {}, scalar: {} };
  for (const kind of SEGMENTED) rules.segmented[kind] = { exact: new Map(), prefix: new Map() };
  for (const { key, label, value } of pairs) {
    const base = key.replace(/_prefix$/, '');
    if (SCALAR.includes(key)) {
      if (typeof value !== 'string' || !LEVELS.has(value))
        throw new InvalidRuleError(`Invalid ${key} policy: ${JSON.stringify(value)}`);
      rules.scalar[key] = value;
      continue;
    }
    if (!SEGMENTED.includes(base)) throw new RulesError(`invalid key ${JSON.stringify(key)}`);
    // `node "x" { policy = "read" }`, or JSON's { "node": { "x": { "policy": "read" } } }.
    const entries =
      label !== undefined
        ? [[label, value]]
        : Array.isArray(value)
          ? value.map((e) => [e.key, e.value])
          : null;
    if (!entries) throw new RulesError(`${key}: expected a name`);
    for (const [name, body] of entries) {
      const policy = Array.isArray(body) ? body.find((e) => e.key === 'policy')?.value : undefined;
      checkLevel(key, name, policy ?? '');
      const table = rules.segmented[base][key.endsWith('_prefix') ? 'prefix' : 'exact'];
      table.set(name, strongest(table.get(name), policy));
    }
  }
  return rules;
}

// When one name has several rules, deny beats write beats list beats read (acl/policy_merger.go).
const PRECEDENCE = { deny: 4, write: 3, list: 2, read: 1 };
export function strongest(a, b) {
  if (!a) return b;
  if (!b) return a;
  return PRECEDENCE[a] >= PRECEDENCE[b] ? a : b;
}

/** JSON rules become the same key/label/value pairs the HCL parser yields. */
function jsonPairs(v) {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new RulesError('JSON rules must be an object');
  return Object.entries(v).map(([key, value]) => ({
    key,
    value: typeof value === 'object' && value !== null ? jsonPairs(value) : value,
  }));
}

/** Parses a policy's Rules text; throws RulesError with Consul's prefix. */
export function parseRules(text) {
  try {
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      let v;
      try {
        v = JSON.parse(trimmed);
      } catch (e) {
        throw new RulesError(e.message);
      }
      return fromPairs(jsonPairs(v));
    }
    const toks = tokenize(text);
    return fromPairs(parseBody(toks, { i: 0 }, undefined));
  } catch (e) {
    if (!(e instanceof RulesError) || e instanceof InvalidRuleError) throw e;
    throw new RulesError(`Failed to parse ACL rules: ${e.message}`);
  }
}

/** ACLServiceIdentity.SyntheticPolicy (agent/structs/acl_ce.go aclPolicyTemplateServiceIdentity). */
export function serviceIdentityRules(serviceName) {
  const s = JSON.stringify(serviceName);
  const proxy = JSON.stringify(`${serviceName}-sidecar-proxy`);
  return `service ${s} {\n  policy = "write"\n}\nservice ${proxy} {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\nnode_prefix "" {\n  policy = "read"\n}\n`;
}

/** The policy a node identity stands for (agent/structs/acl_ce.go aclPolicyTemplateNodeIdentity). */
export function nodeIdentityRules(nodeName) {
  return `node ${JSON.stringify(nodeName)} {\n  policy = "write"\n}\nservice_prefix "" {\n  policy = "read"\n}\n`;
}
