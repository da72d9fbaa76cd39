import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { besideInventory } from '../paths.js';
import { ConfigError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { isSecret, Secret } from '../shell/secret.js';
import { checkCaMaterial, type CaOrigin } from '../tls/ca-material-check.js';
import { createCa, type CaMaterial } from '../tls/certificate-authority.js';
import type { CertificateFacts } from '../tls/certificate-facts.js';
import { caFileNames, DEFAULT_DOMAIN } from '../tls/consul-conventions.js';
import type { RandomSource } from '../tls/random-source.js';
import { loadX509 } from '../tls/x509-library.js';
import { withHostVars } from './gossip-key-source.js';
import { TLS_CA_KEY_VAR, TLS_CA_PEM_VAR, TLS_ISSUER_PEM_VAR } from '../modules/consul-tls-cert.js';
import { trustBundle } from '../tls/ca-bundle.js';
import { readFileIfExists, readPrivateFile, writePrivateFile } from '../util/private-file.js';
import { caRotationFiles, readCaRotation, removeFiles, type CaRotationStage } from './tls-ca-rotation.js';

/**
 * Where the cluster's CA comes from, kept like the gossip key (a CA regenerated on a re-run
 * would leave every server with a certificate no other agent trusts). One CA per inventory:
 *   1. the certificate: `consul_tls_ca_crt` (a path, relative to the inventory), else
 *      `INVENTORY-STEM.tls/consul-agent-ca.pem` beside the inventory;
 *   2. its key: `consul_tls_ca_key` (PEM text, e.g. `{ env: NAME }`, or a path), else the
 *      environment variable DROVER_TLS_CA_KEY (PEM text), else, for the certificate beside the
 *      inventory, `INVENTORY-STEM.tls/consul-agent-ca-key.pem` (mode 0600);
 *   3. a certificate without a key is "CA only": a cluster secured by someone else, which drover
 *      trusts and operates but for which it makes no certificates;
 *   4. neither, on a run that changes hosts: a new CA, written beside the inventory, once.
 * `consul_tls_enable: false` on every host turns all of it off; the Consul playbooks ask for none
 * of it unless some host sets `consul_tls_enable: true` (applyTlsCa).
 */
export const TLS_CA_KEY_ENV = 'DROVER_TLS_CA_KEY';

/** `inventories/lab.yaml` -> `inventories/lab.tls`. */
export function tlsDir(inventoryFile: string): string {
  return besideInventory(inventoryFile, '.tls');
}

export function caFilesBeside(
  inventoryFile: string,
  domain: string = DEFAULT_DOMAIN,
): { cert: string; key: string } {
  const names = caFileNames(domain);
  const dir = tlsDir(inventoryFile);
  return { cert: join(dir, names.cert), key: join(dir, names.key) };
}

export type TlsCaSource = 'inventory' | 'env' | 'file' | 'new' | 'ca-only' | 'disabled';

export interface ResolvedTlsCa {
  readonly source: TlsCaSource;
  /**
   * Absent only when TLS is off. With a key, the certificate is the issuer's alone; "CA only"
   * has no key, and its certificate is the whole file.
   */
  readonly ca?: CaMaterial;
  /**
   * What every agent's CA file holds and what drover's calls trust: the CA file's certificates,
   * plus the other CA of a rotation under way (tls-ca-rotation.ts).
   */
  readonly trusted?: string;
  readonly rotation?: CaRotationStage;
  /** The CA certificate's expiry, name and fingerprint, for `plan`. */
  readonly caFacts?: CertificateFacts;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Lines for the operator (never the key). */
  readonly notes: readonly string[];
}

export interface ResolveTlsOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** True for runs that change hosts: a missing CA is created and written beside the inventory. */
  readonly create: boolean;
  /** Consul's domain: the CA's file names, and its name constraint when there is one. */
  readonly domain?: string;
  /** A new CA gets `-name-constraint` (its domain and localhost only). */
  readonly nameConstraint?: boolean;
  readonly now?: Date;
  readonly random?: RandomSource;
}

/** `consul_tls_enable: false` on every host: nothing of TLS is resolved or read. */
export const tlsOff = (inv: Inventory): boolean =>
  inv.hosts.size > 0 && [...inv.hosts.values()].every((h) => h.vars['consul_tls_enable'] === false);

export async function resolveTlsCa(inventory: Inventory, o: ResolveTlsOptions): Promise<ResolvedTlsCa> {
  if (tlsOff(inventory)) return { source: 'disabled', notes: [] };
  const certVar = oneValue(inventory, 'consul_tls_ca_crt');
  if (certVar !== undefined && typeof certVar !== 'string') {
    throw problem(`${inventory.file}: consul_tls_ca_crt`, 'must be a file path');
  }
  const beside = caFilesBeside(inventory.file, o.domain);
  const certFile = certVar !== undefined ? resolve(dirname(inventory.file), certVar) : beside.cert;
  const key = await findKey(inventory, o, certVar === undefined ? beside.key : undefined);
  const certPem = await readFileIfExists(certFile);

  if (certPem === undefined) {
    if (certVar !== undefined) {
      throw problem(`${inventory.file}: consul_tls_ca_crt`, `names ${certFile}, which does not exist`);
    }
    if (key) {
      throw problem(
        key.where,
        `is a CA key without its certificate: put the certificate at ${certFile} or set consul_tls_ca_crt` +
          (key.source === 'file'
            ? ' (a CA creation that did not finish leaves this; remove the key to make a new CA)'
            : ''),
      );
    }
    return newCa(o, beside);
  }
  const origin: CaOrigin = { cert: certFile, key: key?.where ?? '' };
  const checked = await checkCaMaterial(loadX509(), key ? { certPem, key: key.pem } : { certPem }, origin);
  // A rotation is drover's own, so only for the CA it keeps beside the inventory.
  const rotation =
    key?.source === 'file' && certVar === undefined
      ? await readCaRotation(caRotationFiles(beside), { certificates: checked.certificates, key: key.pem })
      : undefined;
  if (rotation && o.create) await removeFiles(rotation.leftovers);
  const found = {
    caFacts: checked.parsed.facts,
    certFile,
    // The file as it is unless a rotation adds a CA: an agent's CA file changes only with its trust.
    trusted: rotation?.alsoTrusted.length ? trustBundle([certPem, ...rotation.alsoTrusted]) : certPem,
    ...(key?.file ? { keyFile: key.file } : {}),
    ...(rotation?.stage ? { rotation: rotation.stage } : {}),
  };
  if (!key) {
    return {
      source: 'ca-only',
      ca: { certPem },
      ...found,
      notes: [
        `note: drover has the CA certificate ${certFile} but not its key: it trusts this CA and makes no certificates ` +
          `(set consul_tls_ca_key or ${TLS_CA_KEY_ENV} for drover to issue them)`,
      ],
    };
  }
  const notes = rotation?.stage
    ? [
        `note: a CA rotation is under way (${CA_ROTATION_STEPS[rotation.stage]}); drover rotate-tls --ca finishes it`,
      ]
    : [];
  return { source: key.source, ca: { certPem: checked.issuerPem, key: key.pem }, ...found, notes };
}

/** What each step of a CA rotation does, as the operator is told. */
export const CA_ROTATION_STEPS: Readonly<Record<CaRotationStage, string>> = {
  trust: 'step 1 of 3: every agent trusts the old CA and the new one',
  issue: 'step 2 of 3: the servers get certificates from the new CA',
  drop: 'step 3 of 3: every agent trusts only the new CA',
};

interface FoundKey {
  readonly pem: Secret;
  readonly source: 'inventory' | 'env' | 'file';
  /** Where it came from, for messages: a file, a variable. */
  readonly where: string;
  readonly file?: string;
}

async function findKey(
  inventory: Inventory,
  o: ResolveTlsOptions,
  besideKeyFile: string | undefined,
): Promise<FoundKey | undefined> {
  const keyVar = oneValue(inventory, 'consul_tls_ca_key');
  if (keyVar !== undefined) {
    const text = isSecret(keyVar) ? keyVar.reveal() : keyVar;
    if (typeof text !== 'string') {
      throw problem(`${inventory.file}: consul_tls_ca_key`, 'must be PEM text, { env: NAME } or a file path');
    }
    const where = `${inventory.file}: consul_tls_ca_key`;
    if (isPem(text)) return { pem: new Secret(text), source: 'inventory', where };
    // The value is never quoted: what is not PEM may still be a key pasted without its header.
    const notAKey = problem(where, 'is neither PEM text nor the path of a file (relative to the inventory)');
    const file = resolve(dirname(inventory.file), text);
    let pem: Secret | undefined;
    try {
      pem = await readCaKeyFile(file);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw notAKey;
    }
    if (!pem) throw notAKey;
    return { pem, source: 'inventory', where: file, file };
  }
  const env = (o.env ?? process.env)[TLS_CA_KEY_ENV];
  // CI systems pass an unset secret as an empty string, so empty counts as missing.
  if (env) return { pem: new Secret(env), source: 'env', where: `environment variable ${TLS_CA_KEY_ENV}` };
  if (besideKeyFile === undefined) return undefined;
  const pem = await readCaKeyFile(besideKeyFile);
  return pem ? { pem, source: 'file', where: besideKeyFile, file: besideKeyFile } : undefined;
}

async function newCa(o: ResolveTlsOptions, files: { cert: string; key: string }): Promise<ResolvedTlsCa> {
  const ca = await createCa({
    ...(o.domain !== undefined ? { domain: o.domain } : {}),
    ...(o.nameConstraint !== undefined ? { nameConstraint: o.nameConstraint } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
  const caFacts = (await checkCaMaterial(loadX509(), ca, { cert: files.cert, key: files.key })).parsed.facts;
  if (!o.create) {
    return {
      source: 'new',
      ca,
      trusted: ca.certPem,
      caFacts,
      certFile: files.cert,
      keyFile: files.key,
      notes: [`note: no CA in ${dirname(files.cert)}; deploy will create one there`],
    };
  }
  await mkdir(dirname(files.cert), { recursive: true, mode: 0o700 });
  // The key first: a run cut short between the two leaves a key without a certificate, which is
  // refused loudly, never a certificate without a key, which would pass for "CA only".
  await writeNewFile(files.key, ca.key.reveal(), 0o600);
  await writeNewFile(files.cert, ca.certPem, 0o644);
  return {
    source: 'new',
    ca,
    trusted: ca.certPem,
    caFacts,
    certFile: files.cert,
    keyFile: files.key,
    notes: [
      `wrote a new CA to ${files.cert} and its key to ${files.key} (mode 0600); keep them with the inventory, ` +
        'the CA is never regenerated',
    ],
  };
}

/** The one value every host that sets `name` gives it; one CA serves the whole inventory. */
function oneValue(inventory: Inventory, name: string): unknown {
  const values = [...inventory.hosts.values()].map((h) => h.vars[name]).filter((v) => v !== undefined);
  const distinct = new Set(values.map((v) => (isSecret(v) ? v.reveal() : v)));
  if (distinct.size > 1) {
    throw problem(`${inventory.file}: ${name}`, 'differs between hosts; one CA serves the whole inventory');
  }
  return values[0];
}

const isPem = (text: string): boolean => text.trimStart().startsWith('-----BEGIN ');

/** The key in `file`, or undefined when there is none. A file others can read is refused. */
export async function readCaKeyFile(file: string): Promise<Secret | undefined> {
  const text = await readPrivateFile(file, 'CA key');
  return text === undefined ? undefined : new Secret(text);
}

/** Creates `file` with `mode`; never overwrites (a CA is never replaced behind anyone's back). */
const writeNewFile = (file: string, text: string, mode: number): Promise<void> =>
  writePrivateFile(file, text, { mode, refusal: 'drover never replaces a CA' });

const problem = (file: string, message: string): ConfigError => new ConfigError([{ file, message }]);

/**
 * Whether the run needs a CA at all: the Consul playbooks default `consul_tls_enable` to false
 * (existing clusters keep what they have until the operator opts in), so some host must say true.
 */
export const tlsWanted = (inventory: Inventory): boolean =>
  [...inventory.hosts.values()].some((h) => h.vars['consul_tls_enable'] === true);

/**
 * For the Consul playbook commands, beside the gossip key: resolves the CA (see resolveTlsCa;
 * created on a run that changes hosts, announced by `plan`) and returns the inventory with
 * `drover_tls_ca_pem` (what agents and drover trust) and, when drover has the key, the issuer's
 * certificate and `consul_tls_ca_key` as a Secret on every host, for consul_tls_cert. The key is
 * a secret by name: redacted in every output.
 */
export async function applyTlsCa(
  inventory: Inventory,
  o: ResolveTlsOptions & {
    warn: (line: string) => void;
    /** Servers that run TLS now (tls-default.ts): with them, a missing CA is refused, never made. */
    serversWithTls?: readonly string[];
  },
): Promise<Inventory> {
  if (!tlsWanted(inventory)) return inventory;
  const resolved = await resolveTlsCa(inventory, { ...o, create: o.create && !runningWithTls(o) });
  if (resolved.source === 'new' && runningWithTls(o)) {
    const { cert } = caFilesBeside(inventory.file, o.domain);
    throw new ConfigError([
      {
        file: cert,
        message:
          `does not exist, but ${o.serversWithTls?.join(', ')} already run TLS with a CA: a new one would be ` +
          `trusted by none of them. Bring the CA that made their certificates (the ${tlsDir(inventory.file)} folder ` +
          'beside the inventory that deployed them, or consul_tls_ca_crt and consul_tls_ca_key)',
      },
    ]);
  }
  for (const note of resolved.notes) o.warn(note);
  if (!resolved.ca || resolved.trusted === undefined) return inventory;
  if (resolved.caFacts) o.warn(caExpiryNote(resolved.caFacts, resolved.certFile, o.now ?? new Date()));
  return withHostVars(inventory, {
    [TLS_CA_PEM_VAR]: resolved.trusted,
    ...(resolved.ca.key && { [TLS_ISSUER_PEM_VAR]: resolved.ca.certPem, [TLS_CA_KEY_VAR]: resolved.ca.key }),
  });
}

const runningWithTls = (o: { serversWithTls?: readonly string[] }): boolean =>
  (o.serversWithTls?.length ?? 0) > 0;

/** `CA inventories/lab.tls/consul-agent-ca.pem (Consul Agent CA 123) expires 2031-12-06 (1825 days)`. */
function caExpiryNote(facts: CertificateFacts, file: string | undefined, now: Date): string {
  const days = Math.floor((facts.notAfter.getTime() - now.getTime()) / 86_400_000);
  const name = facts.commonName ? ` (${facts.commonName})` : '';
  return `note: CA ${file ?? ''}${name} expires ${facts.notAfter.toISOString().slice(0, 10)} (${days} days)`;
}
