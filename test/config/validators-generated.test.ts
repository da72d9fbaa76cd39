import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { EDITOR_SCHEMA_NAME } from '../../scripts/playbook-modules-schema.js';
import { GENERATED_FILE, generateValidatorsSource } from '../../scripts/validators-source.js';
import {
  AJV_OPTIONS,
  describeAjvErrors,
  objectValidator,
  schemaKey,
  schemaValidator,
  validateYaml,
  type Validator,
} from '../../src/config/schema.js';
import { precompiledValidators } from '../../src/config/validators.generated.js';
import { parseYaml, type YamlFile } from '../../src/config/yaml-file.js';
import { formatProblem } from '../../src/errors.js';
import { builtinModules } from '../../src/modules/registry.js';
import { PROJECT_ROOT, SCHEMAS_DIR } from '../../src/paths.js';
import { groupByModule } from '../../src/playbook/group-by.js';

const STALE = 'src/config/validators.generated.ts is out of date: run `npm run generate:validators`';

// The editor's playbook schema is for yaml-language-server only (test/config/editor-schemas.test.ts).
const schemaFiles = readdirSync(SCHEMAS_DIR).filter(
  (name) => name.endsWith('.json') && name !== EDITOR_SCHEMA_NAME,
);
const readSchema = (name: string): object =>
  JSON.parse(readFileSync(join(SCHEMAS_DIR, name), 'utf8')) as object;
// group_by is interpreted by the runner, not registered, but playbooks validate its args too.
const runtimeModules = [...builtinModules().values(), groupByModule];

test('the committed validators.generated.ts is what the generator writes, byte for byte', () => {
  const generated = generateValidatorsSource();
  // assert.ok, not assert.equal: a diff of 400 kB of generated code would bury the message.
  assert.ok(readFileSync(GENERATED_FILE, 'utf8') === generated, STALE);
  assert.ok(
    generateValidatorsSource() === generated,
    'two generations differ: the output is not deterministic',
  );
});

test('every schema file and module args schema is served precompiled', () => {
  for (const name of schemaFiles) {
    const precompiled = precompiledValidators.get(schemaKey(readSchema(name)));
    assert.ok(precompiled, `schemas/${name} has no precompiled validator: ${STALE}`);
    assert.equal(schemaValidator(name), precompiled, `schemas/${name} is compiled at run time`);
    // Playbooks name schema files by path (template's validate_schema).
    assert.equal(schemaValidator(join(PROJECT_ROOT, 'schemas', name)), precompiled);
  }
  for (const m of runtimeModules) {
    const precompiled = precompiledValidators.get(schemaKey(m.argsSchema));
    assert.ok(precompiled, `module ${m.name} has no precompiled args validator: ${STALE}`);
    assert.equal(
      objectValidator(m.argsSchema),
      precompiled,
      `module ${m.name} args are compiled at run time`,
    );
  }
});

test('a run that only meets precompiled schemas never loads the ajv compiler', () => {
  // A child process: this test file itself loads ajv to compare against it.
  const url = (path: string) => pathToFileURL(join(PROJECT_ROOT, path)).href;
  const script = `
    import { createRequire } from 'node:module';
    const { objectValidator, schemaValidator } = await import(${JSON.stringify(url('src/config/schema.ts'))});
    const { builtinModules } = await import(${JSON.stringify(url('src/modules/registry.ts'))});
    const { groupByModule } = await import(${JSON.stringify(url('src/playbook/group-by.ts'))});
    const require = createRequire(import.meta.url);
    const ajvLoaded = () => require.resolve('ajv') in require.cache;
    for (const name of ${JSON.stringify(schemaFiles)}) schemaValidator(name)(null);
    for (const m of [...builtinModules().values(), groupByModule]) objectValidator(m.argsSchema)({});
    const before = ajvLoaded();
    // A schema nobody precompiled: proves the check above can see ajv being loaded.
    objectValidator({ type: 'string', minLength: 2 })('x');
    console.log(JSON.stringify({ before, after: ajvLoaded() }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), { before: false, after: true });
});

/** The located problems validateYaml would print, from the given validator. */
function problemsFrom(validate: Validator, yaml: YamlFile): string[] {
  if (validate(yaml.value)) return [];
  return describeAjvErrors(validate.errors ?? []).map(({ path, message }) =>
    formatProblem(yaml.problem(path, message)),
  );
}

/** ajv as schema.ts used it before precompiling: a fresh instance with the same options. */
const freshlyCompiled = (schema: object): Validator => new Ajv(AJV_OPTIONS).compile(schema);

test('a precompiled validator reports what a freshly compiled one does', () => {
  const inventoryAjv = freshlyCompiled(readSchema('inventory.schema.json'));
  const inventory = (...lines: string[]) => parseYaml(lines.join('\n') + '\n', '/inv/prod.yaml');
  const badInventories = [
    // A wrong type, an unknown key and a port out of range, all reported at once (allErrors).
    inventory(
      'all:',
      '  hosts:',
      '    h1:',
      '      address: 10.0.0.1',
      '      ssh_port: 70000',
      '      become: "yes"',
    ),
    inventory('all:', '  hostz:', '    h1: { address: 10.0.0.1 }'),
    inventory('all:', '  children: [servers]'),
    inventory('everyone:', '  hosts: {}'),
  ];
  for (const yaml of badInventories) {
    const shown = validateYaml('inventory.schema.json', yaml).map(formatProblem);
    assert.notDeepEqual(shown, [], 'the inventory should be rejected');
    assert.deepEqual(shown, problemsFrom(inventoryAjv, yaml));
  }
  assert.deepEqual(validateYaml('inventory.schema.json', badInventories[0]!).map(formatProblem), [
    '/inv/prod.yaml:5:17 all.hosts.h1.ssh_port: must be <= 65535',
    '/inv/prod.yaml:6:15 all.hosts.h1.become: must be a boolean',
  ]);
  assert.deepEqual(validateYaml('inventory.schema.json', badInventories[1]!).map(formatProblem), [
    '/inv/prod.yaml:3:5 all.hostz: unknown key',
  ]);

  // Module args (a mode written as a YAML number, a relative path, an unknown key), and a client
  // agent config that breaks the consul-agent schema's if/then rules: the raw ajv errors match too.
  const mkdir = builtinModules().get('mkdir')!.argsSchema;
  const mkdirArgs = { path: 'relative/dir', mode: 750, recurse: true };
  const precompiledMkdir = objectValidator(mkdir);
  const freshMkdir = freshlyCompiled(mkdir);
  assert.equal(precompiledMkdir(mkdirArgs), false);
  assert.equal(freshMkdir(mkdirArgs), false);
  assert.deepEqual(precompiledMkdir.errors, freshMkdir.errors);
  assert.deepEqual(
    describeAjvErrors(precompiledMkdir.errors ?? []),
    describeAjvErrors(freshMkdir.errors ?? []),
  );

  const clientConfig = { server: false, bootstrap_expect: 3, datacenter: 7 };
  const precompiledAgent = schemaValidator('consul-agent.schema.json');
  const freshAgent = freshlyCompiled(readSchema('consul-agent.schema.json'));
  assert.equal(precompiledAgent(clientConfig), false);
  assert.equal(freshAgent(clientConfig), false);
  assert.deepEqual(precompiledAgent.errors, freshAgent.errors);
});
