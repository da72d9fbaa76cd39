/**
 * `npm run generate:validators`: writes schemas/playbook-editor.schema.json (for editors:
 * scripts/playbook-modules-schema.ts), then src/config/validators.generated.ts, the precompiled
 * ajv validators drover looks up before compiling a schema. Run it after changing a file in
 * schemas/ or a module's argsSchema; the unit tests fail until the committed files match.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { EDITOR_SCHEMA_FILE, editorSchemaText } from './playbook-modules-schema.js';
import { GENERATED_FILE, generateValidatorsSource } from './validators-source.js';

// For editors only (drover does not load it): the playbook schema with every module's arguments.
writeFileSync(EDITOR_SCHEMA_FILE, editorSchemaText());
console.log(`wrote ${relative(process.cwd(), EDITOR_SCHEMA_FILE)}`);
writeFileSync(GENERATED_FILE, generateValidatorsSource());
console.log(`wrote ${relative(process.cwd(), GENERATED_FILE)}`);
