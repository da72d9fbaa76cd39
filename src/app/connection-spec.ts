import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Host } from '../inventory/types.js';
import { isSecret, type Secret } from '../shell/secret.js';
import type { ConnectionSpec } from '../ssh/transport.js';

export interface ConnectionDefaults {
  /** --ssh-key or DROVER_SSH_KEY; the inventory's ssh_key wins for hosts that set one. */
  sshKey?: string;
  acceptNewHostKeys: boolean;
  connectTimeoutSeconds: number;
}

/**
 * How to reach a host, from its inventory vars (Ansible's names, without the `ansible_` prefix):
 * address, ssh_port (22), ssh_user (root), ssh_key (else the ssh-agent), ssh_known_hosts
 * (~/.ssh/known_hosts), ssh_connect_timeout, become, become_password.
 */
export function connectionSpec(host: Host, defaults: ConnectionDefaults): ConnectionSpec {
  const v = host.vars;
  const where = (name: string, expected: string) =>
    new ConfigError([{ file: 'inventory', path: `${host.name}.${name}`, message: `must be ${expected}` }]);
  const str = (name: string): string | undefined => {
    const value = v[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw where(name, 'a string');
    return value;
  };
  const num = (name: string, fallback: number): number => {
    const value = v[name];
    if (value === undefined) return fallback;
    const n = typeof value === 'string' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) throw where(name, 'a positive whole number');
    return n;
  };
  const becomePassword = v['become_password'];
  const key = str('ssh_key') || defaults.sshKey;
  const agent = process.env['SSH_AUTH_SOCK'];
  return {
    host: host.name,
    address: host.address,
    port: num('ssh_port', 22),
    user: str('ssh_user') ?? 'root',
    ...(key ? { privateKeyPath: key } : {}),
    ...(!key && agent ? { agent } : {}),
    knownHostsPath: str('ssh_known_hosts') ?? join(homedir(), '.ssh', 'known_hosts'),
    acceptNewHostKeys: defaults.acceptNewHostKeys,
    connectTimeoutSeconds: num('ssh_connect_timeout', defaults.connectTimeoutSeconds),
    become: v['become'] === true,
    ...(isSecret(becomePassword) ? { becomePassword: becomePassword as Secret } : {}),
  };
}
