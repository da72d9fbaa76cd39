import { readFile, rename, unlink } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { Secret } from '../shell/secret.js';
import { certificatesOf, sameCertificate, trustBundle } from '../tls/ca-bundle.js';
import { createCa, type CreateCaOptions } from '../tls/certificate-authority.js';
import { checkCaMaterial } from '../tls/ca-material-check.js';
import { loadX509 } from '../tls/x509-library.js';
import { readFileIfExists, readPrivateFile, replacePrivateFile } from '../util/private-file.js';

/**
 * Replacing the CA beside the inventory (`drover rotate-tls --ca`) without a moment in which two
 * agents do not trust each other. Three steps, each a roll of reloads over every agent:
 *   1. trust: a new CA waits in `consul-agent-ca.next.pem` (its key beside it); every agent
 *      trusts the old and the new one; the old one still issues.
 *   2. issue: the new CA takes the CA's own file names and issues; the old one stays trusted as
 *      `consul-agent-ca.previous.pem`; every server gets a certificate from the new one.
 *   3. drop: the old one is renamed `.retired.pem` (trusted no more) and every agent trusts only
 *      the new one; then the retired file goes.
 * The step is read from these files, never remembered: a run cut short at any point (each file
 * is replaced atomically, in an order where every state on disk is a consistent one) resumes
 * from what it finds. deploy honours the step too: it writes the same trust to every agent.
 * Clients are not issued anything here: theirs come from the Connect CA through auto_encrypt.
 */
export type CaRotationStage = 'trust' | 'issue' | 'drop';

export interface CaRotationFiles {
  readonly nextCert: string;
  readonly nextKey: string;
  readonly previous: string;
  readonly retired: string;
}

/** `consul-agent-ca.pem` -> `consul-agent-ca.next.pem`, and so on, beside the CA's own files. */
export function caRotationFiles(ca: { cert: string; key: string }): CaRotationFiles {
  const withSuffix = (file: string, suffix: string) => file.replace(/(\.pem)?$/, `.${suffix}.pem`);
  return {
    nextCert: withSuffix(ca.cert, 'next'),
    nextKey: withSuffix(ca.key, 'next'),
    previous: withSuffix(ca.cert, 'previous'),
    retired: withSuffix(ca.cert, 'retired'),
  };
}

export interface CaRotation {
  /** Absent: no rotation under way. */
  readonly stage?: CaRotationStage;
  /** Trusted beside the CA's own file: the next CA (step 1), the previous one (step 2). */
  readonly alsoTrusted: readonly string[];
  /** Files a finished promotion left behind, removed by the next run that changes hosts. */
  readonly leftovers: readonly string[];
}

export interface CurrentCa {
  /** The CA file's certificates. */
  readonly certificates: readonly string[];
  readonly key: Secret;
}

/** Where a rotation stands, from the files beside the CA. */
export async function readCaRotation(files: CaRotationFiles, current: CurrentCa): Promise<CaRotation> {
  const [nextCert, nextKey, previous, retired] = await Promise.all([
    readFileIfExists(files.nextCert),
    readKey(files.nextKey),
    readFileIfExists(files.previous),
    readFileIfExists(files.retired),
  ]);
  if (retired !== undefined) {
    if (nextCert !== undefined || previous !== undefined)
      throw inconsistent(files.retired, 'beside a next or previous CA');
    return { stage: 'drop', alsoTrusted: [], leftovers: [] };
  }
  const previousCerts = previous === undefined ? [] : certificatesOf(previous);
  const inCurrent = (pem: string) => current.certificates.some((c) => sameCertificate(c, pem));
  if (nextCert !== undefined) {
    const promoted =
      current.certificates.length === 1 && inCurrent(nextCert) && nextKey === current.key.reveal().trim();
    if (promoted)
      return { stage: 'issue', alsoTrusted: previousCerts, leftovers: [files.nextCert, files.nextKey] };
    if (nextKey === undefined) {
      // Its key already moved to the CA's own file: a promotion's stray. Any other has lost its key.
      if (inCurrent(nextCert)) return issueOrNone(previousCerts, [files.nextCert]);
      throw inconsistent(files.nextCert, `has no key beside it (${files.nextKey})`);
    }
    await checkCaMaterial(
      loadX509(),
      { certPem: nextCert, key: new Secret(nextKey) },
      { cert: files.nextCert, key: files.nextKey },
    );
    return { stage: 'trust', alsoTrusted: [...certificatesOf(nextCert), ...previousCerts], leftovers: [] };
  }
  // A key without its certificate: a start cut short, never trusted by anyone; a new start replaces it.
  return issueOrNone(
    previousCerts,
    nextKey !== undefined && nextKey === current.key.reveal().trim() ? [files.nextKey] : [],
  );
}

/** A key file's PEM, trimmed: keys are compared by their text. */
const readKey = async (file: string): Promise<string | undefined> =>
  (await readPrivateFile(file, 'CA key'))?.trim();

const issueOrNone = (previous: readonly string[], leftovers: readonly string[]): CaRotation =>
  previous.length > 0 ? { stage: 'issue', alsoTrusted: previous, leftovers } : { alsoTrusted: [], leftovers };

/** Step 1 begins: a new CA, its key written first (a key alone is a start cut short). */
export async function startCaRotation(files: CaRotationFiles, o: CreateCaOptions): Promise<void> {
  const next = await createCa(o);
  await replacePrivateFile(files.nextKey, next.key.reveal(), 0o600);
  await replacePrivateFile(files.nextCert, next.certPem, 0o644);
}

/**
 * Step 1 done, step 2 begins: the new CA takes the CA's file names. In this order every state a
 * crash can leave trusts both CAs and has an issuer whose key is beside it:
 *   the old one copied to `.previous`; the CA file holds both (the old key still issues); the new
 *   key; the CA file holds the new one only; the next files go, certificate first.
 */
export async function promoteNextCa(
  files: CaRotationFiles,
  ca: { cert: string; key: string },
): Promise<void> {
  const nextCert = await readFile(files.nextCert, 'utf8');
  const nextKey = await readKey(files.nextKey);
  if (nextKey === undefined) throw inconsistent(files.nextCert, `has no key beside it (${files.nextKey})`);
  const old = certificatesOf(await readFile(ca.cert, 'utf8')).filter((c) => !sameCertificate(c, nextCert));
  if (old.length > 0) {
    const previous = (await readFileIfExists(files.previous)) ?? '';
    await replacePrivateFile(files.previous, trustBundle([previous, ...old]), 0o644);
    await replacePrivateFile(ca.cert, trustBundle([...old, nextCert]), 0o644);
  }
  await replacePrivateFile(ca.key, `${nextKey}\n`, 0o600);
  await replacePrivateFile(ca.cert, nextCert, 0o644);
  await removeFiles([files.nextCert, files.nextKey]);
}

/** Step 3 begins: the old CA is trusted no more (its file renamed, in one step). */
export const retirePreviousCa = (files: CaRotationFiles): Promise<void> =>
  rename(files.previous, files.retired);

/** Step 3 done. */
export const forgetRetiredCa = (files: CaRotationFiles): Promise<void> => removeFiles([files.retired]);

export async function removeFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

const inconsistent = (file: string, message: string): ConfigError =>
  new ConfigError([
    { file, message: `${message}: a CA rotation's files do not fit together; see docs/security.md` },
  ]);
