// Decides requests as Consul's acl.Authorizer does: for a named resource the exact rule wins,
// else the longest matching prefix rule, else the default; the scalar resources (operator,
// keyring, acl, ...) have one rule each. Denials carry acl/errors.go's texts.
import { SCALAR, SEGMENTED, parseRules, strongest } from './acl-rules.mjs';

export const ANONYMOUS_ID = '00000000-0000-0000-0000-000000000002';
export const GLOBAL_MANAGEMENT_ID = '00000000-0000-0000-0000-000000000001';

const SATISFIES = { read: ['read', 'list', 'write'], list: ['list', 'write'], write: ['write'] };

export class AclError extends Error {
  constructor(message, status = 403) {
    super(message);
    this.status = status;
  }
}

export const notFound = () => new AclError('ACL not found');

/** PermissionDeniedError.Error(): the token form, or the anonymous form with its trailing sentence. */
export function permissionDenied(accessor, resource, level, name) {
  let m = 'Permission denied: ';
  m += accessor === ANONYMOUS_ID ? 'anonymous token' : `token with AccessorID '${accessor}'`;
  m += ` lacks permission '${resource}:${level}'`;
  if (name) m += ` on ${JSON.stringify(name)}`;
  if (accessor === ANONYMOUS_ID)
    m += '. The anonymous token is used implicitly when a request does not specify a token.';
  return new AclError(m);
}

/** Merges parsed policies (deny wins for the same rule) into one rule set. */
function mergeRules(list) {
  const merged = { segmented: {}, scalar: {} };
  for (const kind of SEGMENTED) merged.segmented[kind] = { exact: new Map(), prefix: new Map() };
  for (const r of list) {
    for (const kind of SEGMENTED) {
      for (const which of ['exact', 'prefix']) {
        for (const [name, level] of r.segmented[kind][which])
          merged.segmented[kind][which].set(name, strongest(merged.segmented[kind][which].get(name), level));
      }
    }
    for (const [k, v] of Object.entries(r.scalar)) merged.scalar[k] = strongest(merged.scalar[k], v);
  }
  return merged;
}

export class Authorizer {
  /**
   * rulesTexts: the token's policies' Rules; management: global-management (everything);
   * defaultPolicy: what applies where no rule matches ('allow' never grants acl or snapshot:
   * only management does, as acl.AllowAll()).
   */
  constructor({ accessor, rulesTexts = [], management = false, defaultPolicy = 'allow' }) {
    this.accessor = accessor;
    this.management = management;
    this.defaultPolicy = defaultPolicy;
    this.rules = mergeRules(rulesTexts.map((t) => parseRules(t)));
  }

  /** The access level granted for resource (and name, for the segmented ones). */
  access(resource, name = '') {
    if (this.management) return 'write';
    let level;
    if (SCALAR.includes(resource)) level = this.rules.scalar[resource];
    else {
      const r = this.rules.segmented[resource];
      level = r.exact.get(name);
      if (level === undefined) {
        let best = -1;
        for (const [prefix, l] of r.prefix)
          if (name.startsWith(prefix) && prefix.length > best) {
            best = prefix.length;
            level = l;
          }
      }
    }
    if (level !== undefined) return level;
    if (resource === 'acl') return 'deny';
    return this.defaultPolicy === 'allow' ? 'write' : 'deny';
  }

  allowed(resource, level, name = '') {
    return SATISFIES[level].includes(this.access(resource, name));
  }

  /**
   * KeyWritePrefix (a recursive delete): write on the prefix, and no rule below it that grants
   * less, since the delete would remove those keys too.
   */
  allowedWritePrefix(resource, prefix) {
    if (this.management) return true;
    if (!this.allowed(resource, 'write', prefix)) return false;
    const r = this.rules.segmented[resource];
    return [...r.exact, ...r.prefix].every(([name, level]) => !name.startsWith(prefix) || level === 'write');
  }

  /** Throws the 403 Consul sends when the token lacks resource:level (on name). */
  enforce(resource, level, name) {
    if (!this.allowed(resource, level, name ?? ''))
      throw permissionDenied(this.accessor, resource, level, name);
  }
}
