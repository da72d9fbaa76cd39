import { createPrivateKey, X509Certificate } from 'node:crypto';
import { posix } from 'node:path';
import { TaskFailedError } from '../errors.js';
import { factStep } from '../facts/fact.js';
import { fileState, type FileState } from '../facts/file-state.js';
import { isSecret } from '../shell/secret.js';
import {
  caFileNames,
  DEFAULT_DOMAIN,
  DNS_NAME_PATTERN,
  serverCertFileNames,
} from '../tls/consul-conventions.js';
import { renewalReasons, wholeDays } from '../tls/renewal.js';
import {
  createServerCert,
  type IssuedCertificate,
  type ServerCertRequest,
} from '../tls/server-certificate.js';
import { describeFileWrite, fileWriteSteps, type DesiredFile } from './file-write.js';
import type { Change, LocalContext, ModuleData, PlannedModule } from './module.js';
import { absolutePathSchema, groupSchema, ownerSchema } from './schema-parts.js';

/**
 * The session puts what the agents trust here (public; several CAs while one is replaced), the
 * issuing CA's certificate in `drover_tls_issuer_pem` and its key in `consul_tls_ca_key` (a
 * Secret). Without the key (a CA drover only trusts) there is no issuer.
 */
export const TLS_CA_PEM_VAR = 'drover_tls_ca_pem';
export const TLS_ISSUER_PEM_VAR = 'drover_tls_issuer_pem';
export const TLS_CA_KEY_VAR = 'consul_tls_ca_key';

export interface ConsulTlsCertArgs {
  /** The host's TLS directory; the agent reads it at `/consul/config/tls`. */
  dir: string;
  role: 'server' | 'client';
  datacenter: string;
  /** The server's bind_addr: its certificate names it, so peers can dial it by address. */
  address: string;
  /** Consul's DNS domain: the certificate is for `server.<dc>.<domain>`. File names keep `consul`. */
  domain?: string;
  owner?: string;
  group?: string;
  /**
   * An ISO instant: a server certificate issued before it is replaced even if it still fits
   * (`drover rotate-tls` passes its own start, so every server gets a new key and certificate).
   */
  renew_issued_before?: string;
}

export interface TlsCertWant {
  readonly args: ConsulTlsCertArgs;
  /** The agent's CA file: every CA it trusts. */
  readonly caPem: string;
  /** A server certificate must come from this CA: the issuer, else (no key) any trusted one. */
  readonly issuerPem: string;
  readonly request: ServerCertRequest;
  /** A certificate ready to be written, made only when drover has the CA key; used only if the host's must go. */
  readonly fresh?: IssuedCertificate;
  /** Judged against this instant: plan itself reads no clock. */
  readonly now: Date;
}

export interface TlsCertFacts {
  ca: FileState;
  cert?: FileState;
  key?: FileState;
}

/**
 * The agent's TLS files: on every agent the CA certificate (every CA it trusts), on a server also
 * its certificate and key, named as `consul tls cert create -server` names them. A server's
 * certificate stays while it is issued by the issuing CA for `server.<dc>.<domain>` with exactly
 * the SANs the node needs (its bind_addr, localhost, 127.0.0.1), matches its key and has more
 * than 30 days left; else a new one is issued. Consul 1.4.4+ reloads certificates on `consul
 * reload` (hashicorp/consul#5419) when TLS is already on, so new files are a reload-class
 * change; turning TLS on is the config's (restart-class) change.
 */
export const consulTlsCertModule: PlannedModule<ConsulTlsCertArgs, TlsCertWant, TlsCertFacts> = {
  kind: 'planned',
  name: 'consul_tls_cert',
  argsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['dir', 'role', 'datacenter', 'address'],
    properties: {
      dir: absolutePathSchema,
      role: { enum: ['server', 'client'] },
      datacenter: { type: 'string', minLength: 1 },
      address: { type: 'string', minLength: 1 },
      domain: {
        type: 'string',
        pattern: DNS_NAME_PATTERN,
        title: 'a DNS name in lower case, like consul or example.internal',
        description: "Consul's DNS domain (consul_domain); the certificate is for server.<dc>.<domain>.",
      },
      owner: ownerSchema,
      group: groupSchema,
      renew_issued_before: {
        type: 'string',
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$',
        description: 'Replace a server certificate issued before this ISO instant (rotate-tls).',
      },
    },
  },

  async desired(args, ctx: LocalContext): Promise<TlsCertWant> {
    const caPem = ctx.vars[TLS_CA_PEM_VAR];
    if (typeof caPem !== 'string') {
      throw new TaskFailedError(
        `${ctx.host}: no CA for TLS: consul_tls_cert runs in the Consul playbooks, whose session resolves the CA`,
      );
    }
    const caKey = ctx.vars[TLS_CA_KEY_VAR];
    const issuer = ctx.vars[TLS_ISSUER_PEM_VAR];
    const issuerPem = isSecret(caKey) && typeof issuer === 'string' ? issuer : caPem;
    const request: ServerCertRequest = {
      dc: args.datacenter,
      domain: args.domain ?? DEFAULT_DOMAIN,
      ipAddresses: [args.address],
    };
    // Certificates hold whole seconds: a new one's 365 days count as 365, not 364.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    if (args.role !== 'server' || !isSecret(caKey)) return { args, caPem, issuerPem, request, now };
    return {
      args,
      caPem,
      issuerPem,
      request,
      now,
      fresh: await createServerCert({ certPem: issuerPem, key: caKey }, request, { now }),
    };
  },

  facts: ({ args }) => {
    const files = tlsFiles(args);
    return {
      ca: factStep(fileState(files.ca)),
      ...(files.server && {
        cert: factStep(fileState(files.server.cert)),
        key: factStep(fileState(files.server.key)),
      }),
    };
  },

  plan(want, facts, ctx): Change {
    const files = tlsFiles(want.args);
    const owned = {
      ...(want.args.owner && { owner: want.args.owner }),
      ...(want.args.group && { group: want.args.group }),
    };
    const wanted: { file: DesiredFile; have: FileState }[] = [
      {
        file: { dest: files.ca, content: want.caPem, shown: want.caPem, mode: '0644', ...owned },
        have: facts.ca,
      },
    ];
    const data: ModuleData = {};
    let certLine: string | undefined;
    if (files.server && facts.cert && facts.key) {
      const reasons = certReasons(facts.cert, facts.key, want);
      const kept = reasons.length === 0 && facts.cert.exists && facts.key.exists;
      if (!kept && !want.fresh) {
        throw new TaskFailedError(
          `${ctx.host}: its server certificate must be replaced (${reasons.join('; ')}), but drover has the ` +
            'CA certificate without its key: set consul_tls_ca_key or DROVER_TLS_CA_KEY',
        );
      }
      const certPem = kept ? contentOf(facts.cert) : (want.fresh as IssuedCertificate).certPem;
      const keyPem = kept ? contentOf(facts.key) : (want.fresh as IssuedCertificate).key.reveal();
      const expires = notAfterOf(certPem);
      const days = wholeDays(expires, want.now);
      certLine = kept
        ? `certificate for ${ctx.host} expires ${isoDay(expires)} (${days} days)`
        : `new certificate for ${ctx.host}, expires ${isoDay(expires)} (${days} days): ${reasons.join('; ')}`;
      Object.assign(data, { expires: isoDay(expires), days_left: days, renew_reasons: reasons });
      wanted.push(
        {
          file: { dest: files.server.cert, content: certPem, shown: certPem, mode: '0644', ...owned },
          have: facts.cert,
        },
        {
          // The key is never shown: no diff, and its summary names the file only.
          file: {
            dest: files.server.key,
            content: keyPem,
            shown: '',
            mode: '0600',
            ...owned,
            extraSecrets: [keyPem],
          },
          have: facts.key,
        },
      );
    }
    const writes = wanted.map(({ file, have }) => ({
      described: describeFileWrite(file, have, { ...ctx, diff: ctx.diff && file.mode !== '0600' }),
      steps: fileWriteSteps(file, have),
    }));
    const changed = writes.some((w) => w.described.changed);
    const summary = [
      ...(certLine ? [certLine] : []),
      ...writes.filter((w) => w.described.changed).map((w) => w.described.summary),
    ].join('; ');
    return {
      changed,
      summary: summary || `TLS files in ${want.args.dir} are up to date`,
      diff: writes.flatMap((w) => w.described.diff ?? []),
      data: { ...data, changed, dir: want.args.dir },
      ...(changed && { steps: writes.filter((w) => w.described.changed).flatMap((w) => w.steps) }),
    };
  },
};

/**
 * The files on the host, and their names as the agent's config gives them (under
 * `/consul/config/tls`): the names `consul tls` gives for the default domain, whatever the
 * domain, so a changed domain replaces what the files hold, never where the config points.
 */
export function tlsFiles(args: Pick<ConsulTlsCertArgs, 'dir' | 'role' | 'datacenter'>): {
  ca: string;
  server?: { cert: string; key: string };
} {
  const ca = posix.join(args.dir, caFileNames(DEFAULT_DOMAIN).cert);
  if (args.role !== 'server') return { ca };
  const names = serverCertFileNames(args.datacenter, DEFAULT_DOMAIN);
  return { ca, server: { cert: posix.join(args.dir, names.cert), key: posix.join(args.dir, names.key) } };
}

/**
 * renewal.ts's rules (the name, the issuer, the validity, the SANs), and that the key on the
 * host is the certificate's: a run cut short between the two writes leaves a pair Consul cannot
 * load. Empty: the certificate stays.
 */
function certReasons(cert: FileState, key: FileState, want: TlsCertWant): string[] {
  if (!cert.exists) return ['there is no certificate yet'];
  if (!key.exists) return ['its key is missing'];
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert.content);
  } catch {
    return ['the file on the host is not a PEM certificate'];
  }
  const reasons = renewalReasons(cert.content, want.issuerPem, want.request, { now: want.now });
  if (!keyMatches(leaf, key.content)) reasons.push("its key on the host is not the certificate's");
  const before = want.args.renew_issued_before;
  if (before !== undefined && new Date(leaf.validFrom) < new Date(before))
    reasons.push(`a new one was asked for (issued ${new Date(leaf.validFrom).toISOString().slice(0, 10)})`);
  return reasons;
}

function keyMatches(leaf: X509Certificate, keyPem: string): boolean {
  try {
    return leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    // The parser's message is dropped: it may quote the key.
    return false;
  }
}

const contentOf = (file: FileState): string => (file.exists ? file.content : '');

const notAfterOf = (certPem: string): Date => new Date(new X509Certificate(certPem).validTo);

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);
