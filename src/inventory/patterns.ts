import { UsageError } from '../errors.js';
import type { Inventory } from './types.js';

/**
 * Ansible host patterns, for play `hosts:` and `--limit`:
 *
 *   all, *            every host
 *   s1, servers       a host or a group (both, if a name is both)
 *   web*, h?          globs over host and group names
 *   a:b  a,b          union
 *   a:!b              exclusion
 *   a:&b              intersection
 *
 * As in Ansible, unions are applied first, then intersections, then exclusions, whatever their
 * order in the pattern; a pattern of only exclusions/intersections starts from `all`.
 *
 * `--limit` narrows where tasks run, never what is known: callers select hosts with this function
 * and keep the full Inventory for vars, `groups` and `hostvars`, so that templates such as
 * retry_join still see every server.
 *
 * Returns host names in inventory order. A term that matches no host or group is a UsageError
 * naming it (a typo must not silently run on fewer hosts); a pattern whose terms all match but
 * leave no host (e.g. an empty `clients` group) returns [].
 */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const terms = pattern
    .split(/[,:]/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (terms.length === 0) throw new UsageError(`empty host pattern "${pattern}"`);

  const unions = terms.filter((t) => !t.startsWith('!') && !t.startsWith('&'));
  const intersections = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1).trim());
  const exclusions = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1).trim());

  let selected = new Set<string>();
  for (const term of unions.length > 0 ? unions : ['all'])
    for (const h of matchTerm(inv, term)) selected.add(h);
  for (const term of intersections) {
    const other = matchTerm(inv, term);
    selected = new Set([...selected].filter((h) => other.has(h)));
  }
  for (const term of exclusions) for (const h of matchTerm(inv, term)) selected.delete(h);

  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}

function matchTerm(inv: Inventory, term: string): Set<string> {
  if (term === 'all' || term === '*') return new Set(inv.hosts.keys());
  const test = /[*?]/.test(term) ? globToRegExp(term) : undefined;
  const matches = (name: string) => (test ? test.test(name) : name === term);
  const out = new Set<string>();
  let matched = false;
  for (const group of inv.groups.values()) {
    if (!matches(group.name)) continue;
    matched = true;
    for (const h of group.hosts) out.add(h);
  }
  for (const host of inv.hosts.keys()) {
    if (!matches(host)) continue;
    matched = true;
    out.add(host);
  }
  if (!matched) {
    throw new UsageError(
      term === ''
        ? 'host pattern has "!" or "&" with no name after it'
        : `host pattern "${term}" matches no host or group in ${inv.file}`,
    );
  }
  return out;
}

/** `*` is any run of characters, `?` one character; everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
