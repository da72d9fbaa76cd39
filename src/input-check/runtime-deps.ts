import type { Expr } from '../playbook/expression.js';
import type { Playbook } from '../playbook/types.js';

/**
 * What the check before any connection cannot know: values that come from the hosts while the
 * run goes on. A task's `register` result (`consul_config_change.restart`) exists only once the
 * task ran; anything that reads one, directly or through a templated var, is left to the run.
 * The test is by name, and errs on the side of leaving a value to the run: an identifier that
 * names a registered result anywhere in a template (even as a helper's argument, even in a
 * string) makes the template depend on the run.
 */
export function registeredNames(playbook: Playbook): Set<string> {
  const names = new Set<string>();
  for (const play of playbook.plays) {
    for (const task of [...play.tasks, ...play.handlers]) if (task.register) names.add(task.register);
  }
  return names;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;
const MUSTACHE = /\{\{([\s\S]*?)\}\}/g;

/** Identifiers inside a template's `{{ ... }}`, memoized: the same strings come back per host. */
const identifierCache = new Map<string, readonly string[]>();
export function templateIdentifiers(source: string): readonly string[] {
  let ids = identifierCache.get(source);
  if (!ids) {
    const found = new Set<string>();
    for (const m of source.matchAll(MUSTACHE))
      for (const id of (m[1] ?? '').match(IDENTIFIER) ?? []) found.add(id);
    ids = [...found];
    identifierCache.set(source, ids);
  }
  return ids;
}

/** Every template string inside a value (args are nested mappings and lists). */
export function templateStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.includes('{{')) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) templateStrings(v, out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) templateStrings(v, out);
  return out;
}

/** The root names a condition reads (`a.b == c[0]` reads a and c). */
export function conditionNames(expr: Expr, out: Set<string> = new Set()): Set<string> {
  switch (expr.kind) {
    case 'name':
      out.add(expr.name);
      break;
    case 'member':
      conditionNames(expr.object, out);
      break;
    case 'index':
      conditionNames(expr.object, out);
      conditionNames(expr.index, out);
      break;
    case 'list':
      for (const i of expr.items) conditionNames(i, out);
      break;
    case 'not':
      conditionNames(expr.operand, out);
      break;
    case 'defined':
      conditionNames(expr.operand, out);
      break;
    case 'logical':
    case 'compare':
      conditionNames(expr.left, out);
      conditionNames(expr.right, out);
      break;
    case 'literal':
      break;
  }
  return out;
}

/**
 * Whether names read by a task depend on the run, following templated vars: `raw(name)` gives
 * the value a var has before rendering (for one host), and its templates are followed in turn.
 */
export function dependsOnRun(
  names: Iterable<string>,
  runtime: ReadonlySet<string>,
  raw: (name: string) => unknown,
): boolean {
  const seen = new Set<string>();
  const pending = [...names];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    if (runtime.has(name)) return true;
    for (const source of templateStrings(raw(name))) pending.push(...templateIdentifiers(source));
  }
  return false;
}
