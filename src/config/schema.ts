import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import type { ConfigProblem } from '../errors.js';
import { SCHEMAS_DIR } from '../paths.js';
import { precompiledValidators } from './validators.generated.js';
import type { DocPath, YamlFile } from './yaml-file.js';

/**
 * The options of drover's ajv. scripts/generate-validators.ts builds the precompiled validators
 * with these same options, so a precompiled validator accepts, rejects and reports exactly what
 * one compiled at run time would.
 */
export const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
} as const satisfies Options;

/**
 * What drover uses of a validator. ajv's compiled functions and the precompiled standalone ones
 * both fit; the standalone ones have no `schema`/`schemaEnv`, so `ValidateFunction` would be a lie.
 */
export type Validator = ((data: unknown) => boolean) & Pick<ValidateFunction, 'errors'>;

/**
 * The key of a schema in validators.generated.ts: sha256 of its JSON text. A schema edited since
 * the file was generated gets another key, misses, and is compiled at run time as before, so a
 * stale generated file can cost time but never validate against an old schema.
 */
export function schemaKey(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/**
 * ajv's compiler, loaded on the first schema that has no precompiled validator. Loading and
 * evaluating ajv costs more than a normal run's validation, so the import is not static (ajv is
 * CommonJS, hence require).
 */
let ajv: Ajv | undefined;
function compile(schema: object): Validator {
  if (!ajv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new AjvClass(AJV_OPTIONS);
  }
  return ajv.compile(schema);
}

function validatorFor(schema: object): Validator {
  return precompiledValidators.get(schemaKey(schema)) ?? compile(schema);
}

/** Schema files by path, read once per run; a bare name is a file in schemas/. */
const documents = new Map<string, object>();
export function schemaDocument(schemaFile: string): object {
  const path = schemaFile.includes('/') ? schemaFile : join(SCHEMAS_DIR, schemaFile);
  let doc = documents.get(path);
  if (!doc) {
    doc = JSON.parse(readFileSync(path, 'utf8')) as object;
    documents.set(path, doc);
  }
  return doc;
}

/** Validators of schema files, by path: the file is read and hashed once per run. */
const validators = new Map<object, Validator>();
export function schemaValidator(schemaFile: string): Validator {
  const doc = schemaDocument(schemaFile);
  let validate = validators.get(doc);
  if (!validate) {
    validate = validatorFor(doc);
    validators.set(doc, validate);
  }
  return validate;
}

/** Validates an in-memory schema object (module args); cached by identity, hashed once. */
const objectValidators = new WeakMap<object, Validator>();
export function objectValidator(schema: object): Validator {
  let validate = objectValidators.get(schema);
  if (!validate) {
    validate = validatorFor(schema);
    objectValidators.set(schema, validate);
  }
  return validate;
}

/** Validates a YAML file's value; returns located problems (empty when valid). */
export function validateYaml(schemaFile: string, yaml: YamlFile): ConfigProblem[] {
  const validate = schemaValidator(schemaFile);
  if (validate(yaml.value)) return [];
  return describeAjvErrors(validate.errors ?? [], schemaDocument(schemaFile)).map(({ path, message }) =>
    yaml.problem(path, message),
  );
}

/**
 * Turns ajv's errors into one plain sentence per problem, at the path a person would look.
 * Given the schema, a rule whose (sub)schema has a `title` is told by it: `must be an IP address
 * or a go-sockaddr template`, not the pattern that says so. Messages never quote the value.
 */
export function describeAjvErrors(
  errors: readonly ErrorObject[],
  schema?: object,
): { path: DocPath; message: string }[] {
  const seen = new Set<string>();
  const out: { path: DocPath; message: string }[] = [];
  // `oneOf`/`anyOf` repeat their branches' errors; keep the most specific ones only.
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  for (const e of specific.length > 0 ? specific : errors) {
    const path = pointerToPath(e.instancePath);
    const title = schema && TITLED.has(e.keyword) ? ruleTitle(schema, e.schemaPath) : undefined;
    const described = title ? { path, message: `must be ${title}` } : describeOne(e, path);
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

/** Keywords whose failure the rule's title says better than ajv's words. */
const TITLED = new Set([
  'type',
  'pattern',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
]);

/** The `title` of the subschema holding the failed keyword (`#/definitions/address/pattern`). */
function ruleTitle(schema: object, schemaPath: string): string | undefined {
  const segments = schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1);
  // The document's own title names the whole file, not a rule.
  if (segments.length === 0 || segments[0] === '') return undefined;
  let node: unknown = schema;
  for (const seg of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  const title = (node as { title?: unknown } | undefined)?.title;
  return typeof title === 'string' ? title : undefined;
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
