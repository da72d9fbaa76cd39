import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { validateYaml } from '../config/schema.js';
import { parseYaml, YAML_LIMITS, type YamlFile } from '../config/yaml-file.js';
import type { ConfigProblem } from '../errors.js';

/**
 * The other files a playbook names (imported playbooks and task files, included task files,
 * roles' files), read synchronously: a playbook compiles in one pass, and an include compiles
 * its file when a host reaches it, between two tasks.
 */

/** A path written in `from` (an import, an include), as Ansible resolves it: relative to that file's folder. */
export function besideFile(from: string, path: string): string {
  return inFolder(dirname(from), path);
}

/** A path relative to a folder (an absolute one as it is). */
export function inFolder(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}

/** A file read and parsed, or why it could not be read (not there, not readable, too large). */
export function readYamlSync(file: string): { yaml: YamlFile } | { missing: string } {
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > YAML_LIMITS.maxBytes) return { missing: `the file is larger than drover reads (${file})` };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      missing: code === 'ENOENT' ? `file not found (${resolve(file)})` : `cannot read ${file} (${code})`,
    };
  }
  // Invalid YAML is a ConfigError located in the file itself.
  return { yaml: parseYaml(text, file) };
}

/**
 * Checks a file that holds one part of a play (a task list, handlers, a role's defaults)
 * against the playbook schema, as that part of a play: one schema says what every file may hold.
 * An empty file is an empty part.
 */
export function validatePart(yaml: YamlFile, part: 'tasks' | 'handlers' | 'defaults'): ConfigProblem[] {
  const asPlay: YamlFile = {
    file: yaml.file,
    value: [{ hosts: 'all', [part]: yaml.value ?? (part === 'defaults' ? {} : []) }],
    locate: (path) => yaml.locate(path.slice(2)),
    problem: (path, message) => yaml.problem(path.slice(2), message),
  };
  return validateYaml('playbook.schema.json', asPlay);
}
