import type { DocPath, YamlFile } from '../config/yaml-file.js';
import type { SourceLocation } from '../errors.js';

/** A place in one of the files a playbook is made of: the file, and the path inside it. */
export interface Place {
  readonly yaml: YamlFile;
  readonly path: DocPath;
}

/**
 * Where each compiled thing (a play, a task, a block, an include, a var scope, a condition) is
 * written. A playbook is made of several files (imported playbooks and task files, roles,
 * includes), so a path alone does not say where: the checks before a run and the runner's
 * messages ask here. Kept beside the compiled objects, not in them, so they stay plain data.
 */
const places = new WeakMap<object, Place>();

export function setPlace(thing: object, place: Place): void {
  places.set(thing, place);
}

export function placeOf(thing: object): Place | undefined {
  return places.get(thing);
}

/** The file, line, column and path of `sub` inside `thing` (its own place when `sub` is empty). */
export function locateIn(thing: object, sub: DocPath = [], fallbackFile = ''): SourceLocation {
  const place = places.get(thing);
  if (!place) return { file: fallbackFile };
  const { message: _, ...at } = place.yaml.problem([...place.path, ...sub], '');
  return at;
}
