import { resolve } from 'node:path';
import { listFiles, removeFiles } from '../remote/fs.js';
import { describeAjvErrors, schemaValidator } from '../config/schema.js';
import { ConfigError, TaskFailedError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { each, type FactRequests } from '../facts/gather.js';
import { checkedStep, effectOnly, mapStep } from '../remote/step.js';
import { fileState, type FileState } from '../facts/file-state.js';
import { redactText } from '../shell/secret.js';
import { renderTemplate } from '../template/render.js';
import { readTemplateFile } from '../template/template-file.js';
import { describeFileWrite, fileWriteSteps, type DesiredFile } from './file-write.js';
import type { Change, FileDiff, LocalContext, ModuleData, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, modeSchema, ownerSchema } from './schema-parts.js';

/** One entry of an inventory's `consul_services` list. */
export interface ServiceEntry {
  name: string;
  id?: string;
  port?: number;
  address?: string;
  tags?: string[];
  meta?: Record<string, string>;
  checks?: Record<string, unknown>[];
}

export type ConsulServicesArgs = {
  /** The host's services, usually "{{consul_services}}". */
  services: ServiceEntry[];
  /** The agent's config dir on the host (bind-mounted at /consul/config). */
  dir: string;
  template?: string;
  validate_schema?: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** Script checks (`args`) run programs inside the agent; off unless asked for. */
  allow_script_checks?: boolean;
};

/** drover owns exactly the files named like this in the config dir, and no others. */
export const SERVICE_FILE_PREFIX = 'drover-service-';
export const SERVICE_FILE_SUFFIX = '.json';
export const DEFAULT_SERVICE_TEMPLATE = 'templates/consul/service.json.hbs';
export const DEFAULT_SERVICE_SCHEMA = 'schemas/consul-service.schema.json';

export const serviceFileName = (s: Pick<ServiceEntry, 'name' | 'id'>): string =>
  `${SERVICE_FILE_PREFIX}${s.id || s.name}${SERVICE_FILE_SUFFIX}`;

/** Every definition rendered and checked: what the dir should hold. */
interface ServicesWant {
  dir: string;
  definitions: { name: string; file: string; want: DesiredFile }[];
}

interface ServicesFacts {
  /** Each definition's file on the host, in the order of `definitions`. */
  files: FileState[];
  /** The names of the files in the dir (drover's are picked from them). */
  present: string[];
  /** The stale files' contents, read for the diff only. */
  stale?: FileState[];
}

const CHECK_KINDS = ['http', 'tcp', 'ttl', 'args'] as const;

const entrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$',
      description: 'Service name: one DNS label (lower-case letters, digits, -).',
    },
    id: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', maxLength: 128 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    address: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    meta: { type: 'object', additionalProperties: { type: 'string' } },
    checks: { type: 'array', items: { type: 'object' } },
  },
} as const;

/**
 * consul_services: one Consul service definition file per entry of `services`, rendered from
 * templates/consul/service.json.hbs and checked against schemas/consul-service.schema.json before
 * anything is written, named `drover-service-ID.json` in the agent's config dir. Files with that
 * prefix that no entry asks for any more are removed; every other file in the dir (the agent
 * config, definitions written by people or other tools) is left alone. Reports `changed` when a
 * file was written or removed, so a `consul reload` handler picks the change up: services never
 * need an agent restart.
 */
export const consulServicesModule: PlannedModule<ConsulServicesArgs, ServicesWant, ServicesFacts> = {
  kind: 'planned',
  name: 'consul_services',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['services', 'dir'],
    properties: {
      services: {
        type: 'array',
        items: entrySchema,
        description:
          'The services of this host (e.g. "{{consul_services}}"); an empty list removes them all.',
      },
      dir: { ...absolutePathSchema, description: "The Consul agent's config dir on the host." },
      template: { type: 'string', minLength: 1, description: `Default ${DEFAULT_SERVICE_TEMPLATE}.` },
      validate_schema: { type: 'string', minLength: 1, description: `Default ${DEFAULT_SERVICE_SCHEMA}.` },
      mode: { ...modeSchema, description: 'Mode of each definition file; default "0644".' },
      owner: ownerSchema,
      group: groupSchema,
      allow_script_checks: {
        type: 'boolean',
        description: 'Allow script checks (`args`); the agent also needs enable_local_script_checks.',
      },
    },
  },
  async desired(args, ctx): Promise<ServicesWant> {
    const entries = args.services.map((s) => normalizeEntry(s, args, ctx.host));
    checkUnique(entries, ctx.host);
    const templatePath = args.template ?? DEFAULT_SERVICE_TEMPLATE;
    const source = await readTemplateFile(ctx.baseDir, templatePath);
    const dir = args.dir.replace(/\/+$/, '') || '/';
    const ownership = {
      mode: args.mode ?? '0644',
      ...(args.owner !== undefined && { owner: args.owner }),
      ...(args.group !== undefined && { group: args.group }),
    };
    const definitions = entries.map((entry) => {
      const vars = { ...ctx.vars, service: entry };
      const content = renderTemplate(source, vars, { name: templatePath, reveal: true });
      const shown = renderTemplate(source, vars, { name: templatePath, reveal: false });
      validateDefinition(content, shown, entry.name, args.validate_schema ?? DEFAULT_SERVICE_SCHEMA, ctx);
      const file = serviceFileName(entry);
      return { name: entry.name, file, want: { dest: `${dir}/${file}`, content, shown, ...ownership } };
    });
    return { dir, definitions };
  },
  facts(want, ctx): FactRequests<ServicesFacts> {
    return {
      files: each(want.definitions.map((d) => factStep(fileState(d.want.dest)))),
      present: mapStep(
        checkedStep('read', listFiles(want.dir, SERVICE_FILE_PREFIX, SERVICE_FILE_SUFFIX)),
        (r) => r.stdout.split('\n'),
      ),
      // What a removal takes away, for the diff only.
      stale: (earlier) => {
        const stale = staleFiles(want, earlier.present ?? []);
        return ctx.diff && stale.length > 0
          ? each(stale.map((f) => factStep(fileState(`${want.dir}/${f}`))))
          : undefined;
      },
    };
  },
  plan(want, facts, ctx): Change {
    const dir = want.dir;
    const writes = want.definitions.map((d, i) => {
      const have: FileState = facts.files[i] ?? { exists: false };
      const change = describeFileWrite(d.want, have, ctx);
      return { ...d, change, steps: change.changed ? fileWriteSteps(d.want, have) : [] };
    });
    const stale = staleFiles(want, facts.present);
    const changedWrites = writes.filter((w) => w.change.changed);
    const data: ModuleData = {
      dir,
      services: writes.map((w) => w.name),
      files: writes.map((w) => w.file),
      written: changedWrites.map((w) => w.file),
      removed: stale,
    };
    if (changedWrites.length === 0 && stale.length === 0) {
      return {
        changed: false,
        summary: serviceCount(writes.length, 'up to date'),
        data: { ...data, changed: false },
      };
    }
    const secrets = ctx.secrets();
    const diff: FileDiff[] = [
      ...changedWrites.flatMap((w) => w.change.diff ?? []),
      ...(facts.stale ?? []).map((have, i) => ({
        path: `${dir}/${stale[i] ?? ''}`,
        before: have.exists ? redactText(have.content, secrets) : null,
        after: '',
      })),
    ];
    const parts = [...changedWrites.map((w) => w.change.summary), ...stale.map((f) => `remove ${dir}/${f}`)];
    return {
      changed: true,
      summary: parts.join('; '),
      diff,
      data: { ...data, changed: true },
      steps: [
        ...changedWrites.flatMap((w) => w.steps),
        ...(stale.length > 0
          ? [effectOnly(checkedStep('write', removeFiles(...stale.map((f) => `${dir}/${f}`))))]
          : []),
      ],
    };
  },
};

/** drover's service files in the dir that no entry asks for any more, sorted. */
function staleFiles(want: ServicesWant, present: readonly string[]): string[] {
  const wanted = new Set(want.definitions.map((d) => d.file));
  return present
    .filter((f) => f.startsWith(SERVICE_FILE_PREFIX) && f.endsWith(SERVICE_FILE_SUFFIX) && !wanted.has(f))
    .sort();
}

/** The entry as the template sees it: every key present, checks checked for their kind. */
function normalizeEntry(s: ServiceEntry, args: ConsulServicesArgs, host: string): Required<ServiceEntry> {
  const checks = (s.checks ?? []).map((check, i) => {
    const kinds = CHECK_KINDS.filter((k) => k in check);
    const where = `${host}: service "${s.name}" check ${i + 1}`;
    if (kinds.length !== 1) {
      throw new TaskFailedError(
        `${where}: needs exactly one of http, tcp, ttl${args.allow_script_checks ? ', args' : ''} (found ${kinds.length === 0 ? 'none' : kinds.join(', ')})`,
      );
    }
    const kind = kinds[0];
    if (kind === 'args' && !args.allow_script_checks) {
      throw new TaskFailedError(
        `${where}: script checks (args) are off by default; use an http, tcp or ttl check, ` +
          `or set allow_script_checks: true on the task and enable_local_script_checks on the agent`,
      );
    }
    if (kind === 'ttl' && 'interval' in check) {
      throw new TaskFailedError(`${where}: a ttl check has no interval (Consul refuses both)`);
    }
    if (kind !== 'ttl' && !('interval' in check)) {
      throw new TaskFailedError(`${where}: a ${kind} check needs an interval, e.g. interval: 10s`);
    }
    return check;
  });
  return {
    name: s.name,
    id: s.id ?? '',
    port: s.port ?? 0,
    address: s.address ?? '',
    tags: s.tags ?? [],
    meta: s.meta ?? {},
    checks,
  };
}

function checkUnique(entries: readonly Required<ServiceEntry>[], host: string): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    const file = serviceFileName(e);
    const other = seen.get(file);
    if (other !== undefined) {
      throw new TaskFailedError(
        `${host}: services "${other}" and "${e.name}" have the same ID "${e.id || e.name}"; ` +
          `give one of them its own id`,
      );
    }
    seen.set(file, e.name);
  }
}

/** The rendered definition must be JSON the schema accepts; problems name the service and key. */
function parseProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function validateDefinition(
  content: string,
  shown: string,
  name: string,
  schemaFile: string,
  ctx: LocalContext,
): void {
  const host = ctx.host;
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    // The parser quotes part of its input, which may cut a secret in two: whole-secret
    // redaction would miss the half. Its message on the redacted rendering quotes no secret.
    const why = redactText(parseProblem(shown) ?? 'invalid JSON', ctx.secrets());
    throw new TaskFailedError(`${host}: service "${name}": the template did not render valid JSON: ${why}`);
  }
  let validate;
  try {
    validate = schemaValidator(resolve(ctx.baseDir, schemaFile));
  } catch (err) {
    throw new ConfigError([{ file: schemaFile, message: `cannot load JSON Schema: ${String(err)}` }], {
      cause: err,
    });
  }
  if (validate(doc)) return;
  const secrets = ctx.secrets();
  const problems = describeAjvErrors(validate.errors ?? []).map(
    ({ path, message }) =>
      `${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('') || '(document)'}: ${redactText(message, secrets)}`,
  );
  throw new TaskFailedError(
    `${host}: service "${name}" rendered a definition that ${schemaFile} rejects:\n  ${problems.join('\n  ')}`,
  );
}

function serviceCount(n: number, what: string): string {
  return `${n} service${n === 1 ? '' : 's'} ${what}`;
}
