/**
 * Builds the text of src/config/validators.generated.ts: ajv's standalone code for every JSON
 * Schema drover validates at run time, so that a run looks its validators up instead of compiling
 * them (compiling, and first checking each schema against ajv's meta-schema, cost ~85 ms a run).
 * scripts/generate-validators.ts writes the file; test/config/validators-generated.test.ts checks
 * that the committed file is what this returns. Only those two load this module, so its static
 * ajv imports never reach a run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
// CommonJS: Node's default import is module.exports (the function), its types see `exports.default`;
// ajv sets both, so `.default` below is the function either way.
import standaloneCode from 'ajv/dist/standalone/index.js';
import { builtinModules } from '../src/modules/registry.js';
import { PROJECT_ROOT, SCHEMAS_DIR } from '../src/paths.js';
import { groupByModule } from '../src/playbook/group-by.js';
import { AJV_OPTIONS, schemaKey } from '../src/config/schema.js';
import { EDITOR_SCHEMA_NAME } from './playbook-modules-schema.js';

export const GENERATED_FILE = join(PROJECT_ROOT, 'src', 'config', 'validators.generated.ts');

/** A schema drover validates against at run time, and where it comes from (for messages). */
export interface RuntimeSchema {
  source: string;
  schema: object;
}

/**
 * The schemas a run validates against: every file in schemas/ (inventory and playbook files,
 * rendered Consul configs, the events and recap formats) and every module's args schema.
 * group_by is not in the registry (the runner interprets it) but its args are checked all the same.
 */
export function runtimeSchemas(): RuntimeSchema[] {
  const files = readdirSync(SCHEMAS_DIR)
    // The editor's playbook schema is for yaml-language-server; drover never validates with it.
    .filter((name) => name.endsWith('.json') && name !== EDITOR_SCHEMA_NAME)
    .sort()
    .map((name) => ({
      source: `schemas/${name}`,
      schema: JSON.parse(readFileSync(join(SCHEMAS_DIR, name), 'utf8')) as object,
    }));
  const modules = [...builtinModules().values(), groupByModule]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => ({ source: `module ${m.name}`, schema: m.argsSchema as object }));
  return [...files, ...modules];
}

/**
 * ajv's standalone code emits `require("ajv/dist/runtime/<helper>").default` for the few helpers
 * a validator calls (string length, deep equality, ...). The generated file is an ES module, where
 * `require` does not exist, so each becomes a static import: tsx and tsc output load the helper
 * from node_modules, and esbuild inlines it into the bundle. Node (and esbuild, for a module of a
 * `"type": "module"` package) gives a CommonJS module's `module.exports` as the default import,
 * hence the `.default`, which each of these modules sets.
 */
const RUNTIME_REQUIRE = /require\("(ajv\/dist\/runtime\/[a-z0-9_]+)"\)\.default/gi;

function importRuntimeHelpers(code: string): { imports: string[]; code: string } {
  const modules = new Map<string, string>();
  const replaced = code.replace(RUNTIME_REQUIRE, (_match, module: string) => {
    let name = modules.get(module);
    if (!name) {
      name = `runtime_${module.slice('ajv/dist/runtime/'.length).replace(/\W/g, '_')}`;
      modules.set(module, name);
    }
    return `${name}.default`;
  });
  if (/\brequire\(/.test(replaced)) {
    throw new Error(
      'ajv standalone code requires a module other than ajv/dist/runtime/*: extend importRuntimeHelpers',
    );
  }
  const imports = [...modules]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, name]) => `import ${name} from '${module}.js';`);
  return { imports, code: replaced };
}

/**
 * The generated file's text. Deterministic: schemas are compiled in key order (ajv numbers its
 * functions in compile order) and the map is written in key order, so regenerating an unchanged
 * tree gives the same bytes. The code also depends on ajv's version, which the key does not cover:
 * after an ajv upgrade the unit test reports the file as stale.
 */
export function generateValidatorsSource(schemas: readonly RuntimeSchema[] = runtimeSchemas()): string {
  const byKey = new Map<string, RuntimeSchema[]>();
  for (const s of schemas) {
    const key = schemaKey(s.schema);
    byKey.set(key, [...(byKey.get(key) ?? []), s]);
  }
  const keys = [...byKey.keys()].sort();

  // The runtime instance's options, plus keeping the source for standalone export; `lines` only
  // puts newlines in the code, so that a schema change shows as a readable diff.
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true, lines: true } });
  const exportNames: Record<string, string> = {};
  for (const key of keys) {
    const [first] = byKey.get(key) ?? [];
    if (!first) continue;
    // Compile exactly as schema.ts does at run time (same base id, same meta-schema check), then
    // register the compiled schema under an export name: addSchema finds it in ajv's cache.
    ajv.compile(first.schema);
    ajv.addSchema(first.schema, `v_${key}`);
    exportNames[`v_${key}`] = `v_${key}`;
  }
  // An ES module is strict anyway, and the directive would no longer come first after the imports.
  const moduleCode = standaloneCode.default(ajv, exportNames).replace(/^"use strict";\n*/, '');
  const { imports, code } = importRuntimeHelpers(moduleCode);

  const entries = keys.map((key) => {
    const sources = (byKey.get(key) ?? []).map((s) => s.source).join(', ');
    return `  // ${sources}\n  ['${key}', v_${key}],`;
  });
  return [
    '// Generated by scripts/generate-validators.ts (npm run generate:validators): do not edit.',
    '// ajv standalone validators for the schemas drover validates at run time, by schemaKey().',
    '// @ts-nocheck',
    ...imports,
    "import type { Validator } from './schema.js';",
    '',
    code,
    '',
    "/** Precompiled validators by schemaKey(schema): sha256 of the schema's JSON text. */",
    'export const precompiledValidators: ReadonlyMap<string, Validator> = new Map<string, Validator>([',
    ...entries,
    ']);',
    '',
  ].join('\n');
}
