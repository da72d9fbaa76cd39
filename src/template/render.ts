import Handlebars from 'handlebars';
import { ConfigError } from '../errors.js';
import { revealSecrets } from '../shell/secret.js';
import type { Vars } from '../inventory/types.js';

/**
 * One Handlebars environment for templates and templated task values. Strict mode: a variable
 * that does not exist is an error that names it, never an empty string in a config file.
 * No HTML escaping: we render JSON and shell arguments, not web pages.
 */
const hb = Handlebars.create();

hb.registerHelper('json', (value: unknown, ...rest: unknown[]) => {
  // {{json value}} or {{json value 2}} for indented output; the last arg is Handlebars' options.
  const options = rest[rest.length - 1] as { loc?: { start?: { line?: number; column?: number } } };
  // Strict mode does not check helper arguments: without this, a missing variable would be
  // written into a config file as the bare word `undefined`.
  if (value === undefined) {
    const at = options.loc?.start;
    throw new Error(`line ${at?.line ?? '?'}: the value given to json is not defined (a missing variable?)`);
  }
  const indent = rest.length > 1 && typeof rest[0] === 'number' ? rest[0] : undefined;
  return new hb.SafeString(JSON.stringify(value, null, indent));
});
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
hb.registerHelper('not', (a: unknown) => !a);
hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
/** {{#if (includes group_names "servers")}}: list membership, for role-dependent values. */
hb.registerHelper('includes', (list: unknown, item: unknown) => Array.isArray(list) && list.includes(item));
hb.registerHelper('join', (list: unknown, sep: unknown) =>
  Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ',') : '',
);
/** {{default value "fallback"}}: for optional vars; strict mode still catches typos elsewhere. */
hb.registerHelper('default', (value: unknown, fallback: unknown) =>
  value === undefined || value === null || value === '' ? fallback : value,
);

/**
 * {{#with (set_fields a=x b=y) as |o|}}{{json o}}{{/with}}: an object of the named arguments
 * that are set (not undefined, null or ""), or nothing when none is, so a block of optional
 * vars is rendered only with the keys given. `false` and `0` are set.
 */
hb.registerHelper('set_fields', (options: { hash?: Record<string, unknown> }) => {
  const set = Object.entries(options.hash ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return set.length === 0 ? undefined : Object.fromEntries(set);
});

/**
 * {{#merge_json extra name="var"}}{ ...JSON... }{{/merge_json}}: the JSON the block renders, with the
 * object `extra` merged into it (consul_config_extra: what drover does not model). Objects merge
 * key by key; anything else in `extra` is set as given (a list replaces, unlike Consul's own
 * merge of several files, which appends). A key the block already renders may not get another
 * value: the var that renders it is the one to set. Without `extra` (undefined, null, {}) the
 * block's text is kept as it is.
 */
hb.registerHelper('merge_json', function (this: unknown, extra: unknown, options: Handlebars.HelperOptions) {
  const text = options.fn(this);
  if (extra === undefined || extra === null) return text;
  if (typeof extra !== 'object' || Array.isArray(extra))
    throw new Error(`${String(options.hash['name'] ?? 'merge_json')}: expected a mapping`);
  if (Object.keys(extra).length === 0) return text;
  const name = typeof options.hash['name'] === 'string' ? options.hash['name'] : 'merge_json';
  const merged = mergeInto(
    JSON.parse(text) as Record<string, unknown>,
    extra as Record<string, unknown>,
    name,
  );
  return `${JSON.stringify(merged, null, 2)}\n`;
});

const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function mergeInto(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
  path: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const at = `${path}.${key}`;
    const have = base[key];
    if (isMapping(have) && isMapping(value)) out[key] = mergeInto(have, value, at);
    else if (have === undefined || JSON.stringify(have) === JSON.stringify(value)) out[key] = value;
    // Never the values: the rendered config holds secrets.
    else throw new Error(`${at}: drover renders this key itself; set the var that renders it instead`);
  }
  return out;
}

/**
 * {{json (group_values "servers" "bind_addr")}}: one var of every host in a group, from the whole
 * inventory (the runner puts `groups` and `hostvars` in every host's context), so retry_join is
 * right even when --limit narrows the run.
 *
 * Optional filter by another var of each host: `where="consul_datacenter" is=consul_datacenter`
 * keeps the hosts whose var equals the value, `is_not=...` those whose var differs. A host
 * without the var is taken to be like this one (kept by `is`, dropped by `is_not`): an inventory
 * that never names a datacenter is one datacenter. That is how one inventory describes
 * several datacenters: retry_join takes the servers of the host's own datacenter,
 * retry_join_wan those of the others.
 */
hb.registerHelper('group_values', function (this: unknown, group: unknown, name: unknown, options: unknown) {
  const o = options as { data?: { root?: Vars }; hash?: Record<string, unknown> };
  const root = o.data?.root ?? {};
  const groups = (root['groups'] ?? {}) as Record<string, string[] | undefined>;
  const hostvars = (root['hostvars'] ?? {}) as Record<string, Vars | undefined>;
  const members = groups[String(group)];
  if (!members) throw new Error(`group_values: no group "${String(group)}" in the inventory`);
  const hash = o.hash ?? {};
  const where = hash['where'];
  if (where !== undefined && !('is' in hash) && !('is_not' in hash)) {
    throw new Error('group_values: where= needs is= or is_not=');
  }
  const keep = (h: string): boolean => {
    if (where === undefined) return true;
    const v = hostvars[h]?.[String(where)];
    if (v === undefined) return 'is' in hash;
    return 'is' in hash ? v === hash['is'] : v !== hash['is_not'];
  };
  return members.filter(keep).map((h) => {
    const v = hostvars[h]?.[String(name)];
    if (v === undefined) throw new Error(`group_values: host "${h}" has no variable "${String(name)}"`);
    return v;
  });
});
/** {{json (length list)}}: the number of items, e.g. servers in this datacenter for bootstrap_expect. */
hb.registerHelper('length', (list: unknown) => (Array.isArray(list) ? list.length : 0));
/** {{json (concat a b)}}: lists joined, duplicates dropped (first one kept); non-lists are skipped. */
hb.registerHelper('concat', (...args: unknown[]) => [
  ...new Set(args.slice(0, -1).flatMap((a) => (Array.isArray(a) ? (a as unknown[]) : []))),
]);

export interface RenderOptions {
  /** Name for error messages: a template path, or `task "name" arg foo`. */
  name: string;
  /** true only when the output goes to a host; false for anything shown to people. */
  reveal: boolean;
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();

export function renderTemplate(source: string, vars: Vars, options: RenderOptions): string {
  let fn = compiled.get(source);
  if (!fn) {
    fn = hb.compile(source, { strict: true, noEscape: true });
    compiled.set(source, fn);
  }
  try {
    return fn(options.reveal ? revealSecrets(vars) : vars);
  } catch (err) {
    throw new ConfigError([{ file: options.name, message: describeTemplateError(err) }], { cause: err });
  }
}

/** True when a string contains Handlebars syntax and needs rendering at all. */
export const isTemplated = (value: string): boolean => value.includes('{{');

/** Handlebars says `"foo" not defined in [object Object] - 3:14`; we say which variable and where. */
function describeTemplateError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const missing = /^"([^"]+)" not defined in .* - (\d+):(\d+)/.exec(text);
  if (missing) return `line ${missing[2]}: variable "${missing[1]}" is not defined`;
  const lines = text.split('\n');
  // Parse errors come as: "Parse error on line N:", the source line, a caret, "Expecting ...".
  return lines.length > 1 ? `${lines[0]} ${lines[lines.length - 1]}` : text;
}
