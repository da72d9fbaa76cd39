import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from '../errors.js';
import type { DocPath, YamlFile } from './yaml-file.js';

/** One ajv instance for all of drover's schemas; compiled validators are cached by schema path. */
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>();

/** The project's schemas/ folder, from src/config or dist/config alike. */
export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

export function schemaValidator(schemaFile: string): ValidateFunction {
  const path = schemaFile.includes('/') ? schemaFile : join(SCHEMAS_DIR, schemaFile);
  let validate = validators.get(path);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(path, 'utf8')) as object);
    validators.set(path, validate);
  }
  return validate;
}

/** Validates an in-memory schema object (module args); cached by identity. */
const objectValidators = new WeakMap<object, ValidateFunction>();
export function objectValidator(schema: object): ValidateFunction {
  let validate = objectValidators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    objectValidators.set(schema, validate);
  }
  return validate;
}

/** Validates a YAML file's value; returns located problems (empty when valid). */
export function validateYaml(schemaFile: string, yaml: YamlFile): ConfigProblem[] {
  const validate = schemaValidator(schemaFile);
  if (validate(yaml.value)) return [];
  return describeAjvErrors(validate.errors ?? []).map(({ path, message }) => yaml.problem(path, message));
}

/** Turns ajv's errors into one plain sentence per problem, at the path a person would look. */
export function describeAjvErrors(errors: readonly ErrorObject[]): { path: DocPath; message: string }[] {
  const seen = new Set<string>();
  const out: { path: DocPath; message: string }[] = [];
  // `oneOf`/`anyOf` repeat their branches' errors; keep the most specific ones only.
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  for (const e of specific.length > 0 ? specific : errors) {
    const path = pointerToPath(e.instancePath);
    const described = describeOne(e, path);
    const key = `${described.path.join('/')}|${described.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(described);
    }
  }
  return out;
}

function describeOne(e: ErrorObject, path: DocPath): { path: DocPath; message: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const types = String(p['type']).split(',');
      return { path, message: `must be ${types.map(article).join(' or ')}` };
    }
    case 'additionalProperties':
      return { path: [...path, String(p['additionalProperty'])], message: 'unknown key' };
    case 'required':
      return { path, message: `missing required key "${String(p['missingProperty'])}"` };
    case 'enum':
      return { path, message: `must be one of: ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'pattern':
      return { path, message: `must match the pattern ${String(p['pattern'])}` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

const article = (t: string): string => {
  if (t === 'null') return 'null';
  // The article goes with the word shown ("a mapping"), not with ajv's type name ("object").
  const word = t === 'object' ? 'mapping' : t === 'array' ? 'list' : t;
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
};

function pointerToPath(pointer: string): DocPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
