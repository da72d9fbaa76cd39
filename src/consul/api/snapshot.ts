import { httpStep, mapStep, type Step } from '../../remote/step.js';
import type { HttpResponse } from '../../ssh/transport.js';
import type { Vars } from '../../inventory/types.js';
import { isSecret } from '../../shell/secret.js';
import { ACL_MANAGEMENT_VAR_OF_SESSION, type AgentEndpoint } from './endpoint.js';
import { ConsulOutputError } from './output-error.js';

/**
 * Consul's snapshot API (agent/snapshot_endpoint.go): `GET /v1/snapshot` streams a gzip'd tar of
 * the server state from the leader (a follower or client forwards it; `?dc=` another
 * datacenter's), with the raft index it was taken at in X-Consul-Index; `PUT /v1/snapshot`
 * sends one back to the leader, which replaces its whole state with it. Both need a token with
 * `acl:write` (what Consul's docs call management) when ACLs are on.
 */
export const SNAPSHOT_PATH = '/v1/snapshot';

/**
 * `endpoint` with the token a snapshot call needs: acl:write, so the session's management token
 * where it has one (drover's own calls may carry a narrower one).
 */
export function snapshotEndpoint(endpoint: AgentEndpoint, vars: Vars): AgentEndpoint {
  const management = vars[ACL_MANAGEMENT_VAR_OF_SESSION];
  return isSecret(management) ? { ...endpoint, token: management } : endpoint;
}

const dcQuery = (datacenter: string | undefined): string =>
  datacenter ? `?dc=${encodeURIComponent(datacenter)}` : '';

export interface TakenSnapshot {
  bytes: Buffer;
  /** The raft index the snapshot was taken at. */
  index: number;
}

/** A consistent snapshot (no `stale`: refused when the datacenter has no leader). */
export function saveSnapshotStep(
  endpoint: AgentEndpoint,
  o: { datacenter?: string; timeoutSeconds: number },
): Step<TakenSnapshot> {
  const path = `${SNAPSHOT_PATH}${dcQuery(o.datacenter)}`;
  return mapStep(httpStep({ method: 'GET', ...endpoint, path, timeoutSeconds: o.timeoutSeconds }), (res) => {
    refused(res, `GET ${path}`);
    const index = Number(res.headers['x-consul-index']);
    if (!Number.isInteger(index) || index <= 0)
      throw new ConsulOutputError(`GET ${path}`, 'answered without the X-Consul-Index of the snapshot');
    return { bytes: res.bytes ?? Buffer.from(res.body, 'utf8'), index };
  });
}

/** Restores `bytes` into the datacenter's servers, through the leader. */
export function restoreSnapshotStep(
  endpoint: AgentEndpoint,
  bytes: Buffer,
  o: { datacenter?: string; timeoutSeconds: number },
): Step<void> {
  const path = `${SNAPSHOT_PATH}${dcQuery(o.datacenter)}`;
  return mapStep(
    httpStep({ method: 'PUT', ...endpoint, path, bytes, timeoutSeconds: o.timeoutSeconds }),
    (res) => refused(res, `PUT ${path}`),
  );
}

function refused(res: HttpResponse, source: string): void {
  if (res.status === 200) return;
  const hint =
    res.status === 403 ? ' (snapshots need a token with acl:write, i.e. the management token)' : '';
  throw new ConsulOutputError(source, `HTTP ${res.status}${hint}: ${res.body.trim().slice(0, 300)}`);
}
