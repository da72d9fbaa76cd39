import type { ConnectionSpec } from './transport.js';

/** Why a connection attempt failed, in words that name the host, the port and what was tried. */
export function describeConnectError(err: unknown, spec: ConnectionSpec): string {
  const e = err as { code?: string; level?: string; message?: string };
  const where = `${spec.address}:${spec.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ETIMEDOUT':
      return `no SSH answer within ${spec.connectTimeoutSeconds}s from ${where}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${spec.address}`;
  }
  if (e.level === 'client-timeout')
    return `no SSH handshake within ${spec.connectTimeoutSeconds}s from ${where}`;
  if (e.level === 'client-authentication') {
    const how = spec.privateKeyPath ? `key ${spec.privateKeyPath}` : 'ssh-agent keys';
    return `authentication failed for user ${spec.user} at ${where} (tried ${how})`;
  }
  return `${where}: ${e.message ?? String(err)}`;
}
