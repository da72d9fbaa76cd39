import { createHash } from 'node:crypto';
import { UnreachableError } from '../errors.js';
import {
  appendKnownHost,
  checkHostKey,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  loadKnownHosts,
} from './known-hosts.js';
import type { ConnectionSpec } from './transport.js';

/** Host key checking for one connection: ssh2's hostVerifier plus the reason for a rejection. */
export interface HostKeyPolicy {
  verifier: (key: Buffer, verify: (ok: boolean) => void) => undefined;
  /** The server host key algorithms to offer; undefined leaves ssh2's default list. */
  algorithms: string[] | undefined;
  /** Why the verifier refused the server's key, once it has. */
  rejection: () => string | undefined;
}

export async function hostKeyPolicy(spec: ConnectionSpec): Promise<HostKeyPolicy> {
  const file = spec.knownHostsPath;
  let entries;
  try {
    entries = await loadKnownHosts(file);
  } catch (err) {
    throw new UnreachableError(spec.host, `cannot read known_hosts file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const name = knownHostsName(spec.address, spec.port);
  let rejection: string | undefined;
  const reject = (verify: (ok: boolean) => void, why: string) => {
    rejection = why;
    verify(false);
  };
  const verifier = (key: Buffer, verify: (ok: boolean) => void): undefined => {
    const keyType = keyTypeOfBlob(key);
    const fingerprint = `${keyType} SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    const verdict = checkHostKey(entries, name, keyType, key.toString('base64'));
    switch (verdict.status) {
      case 'known':
        verify(true);
        break;
      case 'unknown':
        if (!spec.acceptNewHostKeys) {
          reject(
            verify,
            `host key for ${name} is not in known_hosts file ${file} (server presented ${fingerprint}); ` +
              `add it (ssh-keyscan -p ${spec.port} ${spec.address}) or enable accepting new host keys`,
          );
          break;
        }
        appendKnownHost(file, name, keyType, key.toString('base64')).then(
          () => verify(true),
          (err: Error) =>
            reject(verify, `cannot record the new host key of ${name} in ${file}: ${err.message}`),
        );
        break;
      case 'changed':
        reject(
          verify,
          `HOST KEY CHANGED for ${name}: known_hosts file ${file} line ${verdict.line} has a different ${keyType} key ` +
            `(server presented ${fingerprint}). This may be an attack; if the host was rebuilt, remove that line.`,
        );
        break;
      case 'other-type':
        reject(
          verify,
          `host key for ${name} is ${keyType}, but known_hosts file ${file} line ${verdict.line} lists only ` +
            `${verdict.knownTypes.join(', ')} keys for it; refusing a key of another type`,
        );
        break;
      case 'revoked':
        reject(
          verify,
          `host key of ${name} (${fingerprint}) is marked @revoked in known_hosts file ${file} line ${verdict.line}`,
        );
        break;
    }
    return undefined;
  };
  const types = knownKeyTypes(entries, name);
  const algorithms = types.length > 0 ? hostKeyAlgorithms(types) : undefined;
  return { verifier, algorithms, rejection: () => rejection };
}

/** Ask for the key types we already know, like OpenSSH does, so a host with several keys matches. */
function hostKeyAlgorithms(types: readonly string[]): string[] | undefined {
  const byType: Record<string, string[]> = {
    'ssh-ed25519': ['ssh-ed25519'],
    'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
    'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
    'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
    'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  };
  const algos = types.flatMap((t) => byType[t] ?? []);
  // A type we cannot map: do not restrict, the verifier still decides.
  return algos.length > 0 && types.every((t) => byType[t]) ? algos : undefined;
}
