/**
 * `npm run generate:validators`: writes src/config/validators.generated.ts, the precompiled ajv
 * validators drover looks up before compiling a schema. Run it after changing a file in schemas/
 * or a module's argsSchema; the unit tests fail until the committed file matches.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GENERATED_FILE, generateValidatorsSource } from './validators-source.js';

writeFileSync(GENERATED_FILE, generateValidatorsSource());
console.log(`wrote ${relative(process.cwd(), GENERATED_FILE)}`);
