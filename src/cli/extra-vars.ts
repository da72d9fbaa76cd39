import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseYaml, type DocPath, type YamlFile } from '../config/yaml-file.js';
import { ConfigError, UsageError, type ConfigProblem } from '../errors.js';
import type { Vars } from '../inventory/types.js';
import { isPlainObject, prepareVar, VAR_NAME } from '../inventory/var-values.js';

/**
 * `-e` as ansible-playbook has it, above every other var of the run: `-e key=value` (several
 * pairs split on spaces), `-e '{"key": 1}'` (JSON, or YAML flow), `-e @vars.yaml` (a YAML or
 * JSON file). Later `-e` win over earlier ones. Each value goes through what an inventory value
 * goes through (inventory/var-values.ts): a secret-named var (`*_token`, `consul_encrypt`, ...)
 * becomes a Secret and is redacted like any other, `{ env: NAME }` is read from `env`, a key
 * path is made absolute. Problems are located (`-e` or the file, with line and path), exit 3.
 */
export function parseExtraVars(
  given: readonly string[],
  o: { env: Readonly<Record<string, string | undefined>>; cwd: string },
): Vars {
  const out: Vars = {};
  const problems: ConfigProblem[] = [];
  for (const arg of given) {
    const { doc, source, baseDir } = documentOf(arg, o.cwd);
    const value = doc.value;
    if (!isPlainObject(value)) {
      problems.push({
        file: source,
        message: 'must be key=value pairs, a mapping ({"key": 1}), or @FILE of one',
      });
      continue;
    }
    for (const [key, raw] of Object.entries(value)) {
      if (!VAR_NAME.test(key)) {
        problems.push(doc.problem([key], `"${key}" is not a var name (letters, digits and _)`));
        continue;
      }
      const prepared = prepareVar(key, raw, [key], {
        env: o.env,
        baseDir,
        homeDir: undefined,
        problem: (path: DocPath, message: string) => problems.push(doc.problem(path, message)),
      });
      if (prepared !== undefined) out[key] = prepared;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

function documentOf(arg: string, cwd: string): { doc: YamlFile; source: string; baseDir: string } {
  if (arg.startsWith('@')) {
    const file = resolve(cwd, arg.slice(1));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ file: arg.slice(1), message: `cannot read it: ${(err as Error).message}` }]);
    }
    return { doc: parseYaml(text, file), source: file, baseDir: dirname(file) };
  }
  const source = `-e ${arg}`;
  const trimmed = arg.trim();
  if (trimmed.startsWith('{')) return { doc: parseYaml(trimmed, source), source, baseDir: cwd };
  // key=value pairs. Ansible gives every value as a string, which makes `-e flag=false` true in a
  // condition; here true/false and whole numbers are what they look like, anything else a string.
  const pairs: Record<string, unknown> = {};
  for (const word of trimmed.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new UsageError(`-e ${JSON.stringify(arg)}: "${word}" is not key=value`);
    pairs[word.slice(0, eq)] = scalar(word.slice(eq + 1));
  }
  return {
    doc: {
      file: source,
      value: pairs,
      locate: () => undefined,
      problem: (path, message) => ({ file: source, path: path.join('.'), message }),
    },
    source,
    baseDir: cwd,
  };
}

const scalar = (text: string): unknown =>
  text === 'true' ? true : text === 'false' ? false : /^-?\d{1,15}$/.test(text) ? Number(text) : text;
