import { resolve } from 'node:path';
import { describeAjvErrors, schemaValidator } from '../config/schema.js';
import { ConfigError, TaskFailedError } from '../errors.js';
import { redactText } from '../shell/secret.js';
import { renderTemplate } from '../template/render.js';
import { readTemplateFile } from '../template/template-file.js';
import { convergingFile, describeFileWrite, type DesiredFile, type FileFacts } from './file-write.js';
import type { LocalContext, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, modeSchema, ownerSchema } from './schema-parts.js';

export type TemplateArgs = {
  src: string;
  dest: string;
  mode?: string;
  owner?: string;
  group?: string;
  validate_schema?: string;
};

/**
 * Renders a Handlebars template with the task's vars and puts the result on the host. It renders
 * twice: with secrets revealed for the bytes written, with secrets redacted for the diff shown.
 * With validate_schema the rendered JSON is checked before anything is written, so a broken
 * config never reaches a host.
 */
export const templateModule: PlannedModule<TemplateArgs, DesiredFile, FileFacts> = {
  kind: 'planned',
  name: 'template',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['src', 'dest'],
    properties: {
      src: { type: 'string', minLength: 1, description: 'Template path, relative to the project root.' },
      dest: absolutePathSchema,
      mode: modeSchema,
      owner: ownerSchema,
      group: groupSchema,
      validate_schema: {
        type: 'string',
        minLength: 1,
        description: 'JSON Schema file (relative to the project root) the rendered JSON must satisfy.',
      },
    },
  },
  async desired(args: TemplateArgs, ctx: LocalContext): Promise<DesiredFile> {
    const source = await readTemplateFile(ctx.baseDir, args.src);
    const content = renderTemplate(source, ctx.vars, { name: args.src, reveal: true });
    const shown = renderTemplate(source, ctx.vars, { name: args.src, reveal: false });
    if (args.validate_schema) validateRendered(content, shown, args, ctx);
    return { dest: args.dest, content, shown, ...ownership(args) };
  },
  facts: (want) => ({ file: convergingFile(want) }),
  plan: (want, facts, ctx) => describeFileWrite(want, facts.file, ctx),
};

function ownership(a: TemplateArgs): { mode?: string; owner?: string; group?: string } {
  return {
    ...(a.mode !== undefined && { mode: a.mode }),
    ...(a.owner !== undefined && { owner: a.owner }),
    ...(a.group !== undefined && { group: a.group }),
  };
}

/** Parses the rendered text as JSON and checks it against the schema; errors never carry values. */
function validateRendered(content: string, shown: string, args: TemplateArgs, ctx: LocalContext): void {
  const schemaFile = args.validate_schema ?? '';
  const host = ctx.host;
  const secrets = ctx.secrets();
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    throw new TaskFailedError(
      `${host}: template ${args.src} did not render valid JSON: ${jsonProblem(shown)}`,
    );
  }
  const schemaPath = resolve(ctx.baseDir, schemaFile);
  let validate;
  try {
    validate = schemaValidator(schemaPath);
  } catch (err) {
    throw new ConfigError([{ file: schemaFile, message: `cannot load JSON Schema: ${String(err)}` }], {
      cause: err,
    });
  }
  if (validate(doc)) return;
  const problems = describeAjvErrors(validate.errors ?? []).map(
    ({ path, message }) => `${jsonPath(path)}: ${redactText(message, secrets)}`,
  );
  throw new TaskFailedError(
    `${host}: template ${args.src} rendered a config that ${schemaFile} rejects:\n  ${problems.join('\n  ')}`,
  );
}

/**
 * Describes a JSON syntax error from the redacted rendering only: V8 quotes a slice of the text
 * in its messages, and a slice of a secret would not be caught by redaction of whole secrets.
 */
function jsonProblem(shown: string): string {
  try {
    JSON.parse(shown);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return `${message}${where(shown, message)}`;
  }
  return 'a secret value breaks the JSON syntax (render it with {{json name}} so it is quoted)';
}

/** ` (line 3, column 14)` from V8's `at position N`, when it gives one. */
function where(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}

/** ['ports', 'http'] -> `ports.http`; [ 'retry_join', 0 ] -> `retry_join[0]`; [] -> `(document)`. */
function jsonPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(document)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
