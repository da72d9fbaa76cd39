/**
 * schemas/playbook-editor.schema.json: the playbook schema (schemas/playbook.schema.json, what
 * the loader checks) plus what each module takes (`definitions.moduleArgs`), built from the
 * modules' own argsSchema so that the two cannot drift. It is the schema the shipped playbooks
 * name for yaml-language-server, which then completes module names and their arguments and
 * checks them as you type. drover itself does not load it: the loader checks module arguments
 * with the modules' schemas, after templating, with its own messages. `npm run
 * generate:validators` writes it; test/config/editor-schemas.test.ts fails while it is stale.
 *
 * A playbook is written before templating: any value may be a template that renders to the
 * right type (`keep: "{{consul_snapshot_keep}}"` for an integer), so every value here also
 * accepts a string holding `{{`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModules } from '../src/modules/registry.js';
import { SCHEMAS_DIR } from '../src/paths.js';
import { groupByModule } from '../src/playbook/group-by.js';

export const PLAYBOOK_SCHEMA_FILE = join(SCHEMAS_DIR, 'playbook.schema.json');
export const EDITOR_SCHEMA_NAME = 'playbook-editor.schema.json';
export const EDITOR_SCHEMA_FILE = join(SCHEMAS_DIR, EDITOR_SCHEMA_NAME);
const EDITOR_ID = 'https://drover.dev/schemas/playbook-editor.schema.json';

type Schema = Record<string, unknown>;

const TEMPLATE: Schema = { type: 'string', pattern: '\\{\\{', description: 'A template rendered per host.' };

/** `schema`, and at every level a template string in its place. */
function templatable(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const s: Schema = { ...(schema as Schema) };
  const props = s['properties'];
  if (props && typeof props === 'object')
    s['properties'] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, templatable(v)]));
  if (s['items'] && typeof s['items'] === 'object' && !Array.isArray(s['items']))
    s['items'] = templatable(s['items']);
  if (s['additionalProperties'] && typeof s['additionalProperties'] === 'object')
    s['additionalProperties'] = templatable(s['additionalProperties']);
  for (const k of ['anyOf', 'oneOf', 'allOf'])
    if (Array.isArray(s[k])) s[k] = (s[k] as unknown[]).map(templatable);
  const description = s['description'];
  return { ...(typeof description === 'string' && { description }), anyOf: [s, TEMPLATE] };
}

/** `definitions.moduleArgs`: each module's key with what it takes, in name order. */
export function moduleArgsDefinition(): Schema {
  const modules = [...builtinModules().values(), groupByModule].sort((a, b) => a.name.localeCompare(b.name));
  return {
    description:
      "Each module's key and its arguments (from the modules' argsSchema; scripts/playbook-modules-schema.ts writes this). A task has one of them.",
    type: 'object',
    properties: Object.fromEntries(
      modules.map((m) => [
        m.name,
        {
          ...(templatable({ ...m.argsSchema, type: 'object' }) as Schema),
          description: `The ${m.name} module.`,
        },
      ]),
    ),
  };
}

/** The editor's playbook schema, as text to write: the loader's, with every module's arguments. */
export function editorSchemaText(): string {
  const schema = JSON.parse(readFileSync(PLAYBOOK_SCHEMA_FILE, 'utf8')) as Record<string, unknown> & {
    definitions: Record<string, { allOf?: unknown[] }>;
  };
  schema['$id'] = EDITOR_ID;
  schema['title'] =
    `${String(schema['title'] ?? 'drover playbook')} (for editors: with every module's arguments)`;
  schema.definitions['moduleArgs'] = moduleArgsDefinition();
  for (const name of ['task', 'handler']) {
    const def = schema.definitions[name];
    if (!def?.allOf) throw new Error(`playbook.schema.json: definitions.${name} has no allOf to extend`);
    def.allOf = [...def.allOf, { $ref: '#/definitions/moduleArgs' }];
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}
