import type { Vars } from '../../inventory/types.js';
import { parseGoDuration } from '../parse/go-duration.js';
import { asObject, getBoolean, getNumber, getString, parseJsonBody, type JsonObject } from './json-shape.js';

/**
 * The cluster's autopilot settings (Consul 1.20's `GET /v1/operator/autopilot/configuration`).
 * Consul takes the agent file's `autopilot` block only when the cluster is bootstrapped
 * (leader.go getOrCreateAutopilotConfig uses it while raft holds none); afterwards they change
 * only through `PUT` of the same path, whose body is decoded over the API's defaults, so a write
 * sends every field (docs/research/consul-snapshots-upgrades-maintenance.md §5).
 */
export const AUTOPILOT_CONFIG_PATH = '/v1/operator/autopilot/configuration';

export interface AutopilotConfig {
  /** The whole object as Consul sent it, Enterprise fields included: a write sends them back. */
  readonly raw: JsonObject;
  readonly modifyIndex: number;
}

/** The settings drover manages, by their API names; durations as Go duration text. */
export interface AutopilotWant {
  CleanupDeadServers?: boolean;
  LastContactThreshold?: string;
  MaxTrailingLogs?: number;
  MinQuorum?: number;
  ServerStabilizationTime?: string;
}

/** Each inventory var (ansible-consul's names), its API field, and the agent file key. */
export const AUTOPILOT_VARS = [
  {
    variable: 'consul_autopilot_cleanup_dead_servers',
    field: 'CleanupDeadServers',
    file: 'cleanup_dead_servers',
  },
  {
    variable: 'consul_autopilot_last_contact_threshold',
    field: 'LastContactThreshold',
    file: 'last_contact_threshold',
  },
  { variable: 'consul_autopilot_max_trailing_logs', field: 'MaxTrailingLogs', file: 'max_trailing_logs' },
  { variable: 'consul_autopilot_min_quorum', field: 'MinQuorum', file: 'min_quorum' },
  {
    variable: 'consul_autopilot_server_stabilization_time',
    field: 'ServerStabilizationTime',
    file: 'server_stabilization_time',
  },
] as const;

/** The settings a host's vars ask for; a var left unset or `""` asks for nothing. */
export function autopilotWantFromVars(vars: Readonly<Vars>): AutopilotWant {
  const want: Record<string, unknown> = {};
  for (const { variable, field } of AUTOPILOT_VARS) {
    const v = vars[variable];
    if (v !== undefined && v !== null && v !== '') want[field] = v;
  }
  return want as AutopilotWant;
}

export function parseAutopilotConfig(body: string, source = `GET ${AUTOPILOT_CONFIG_PATH}`): AutopilotConfig {
  const o = asObject(parseJsonBody(body, source), source, '');
  // Read once so a malformed answer fails here, not in the comparison.
  getBoolean(o, 'CleanupDeadServers', source);
  getString(o, 'LastContactThreshold', source);
  getNumber(o, 'MaxTrailingLogs', source);
  getString(o, 'ServerStabilizationTime', source);
  return { raw: o, modifyIndex: getNumber(o, 'ModifyIndex', source) };
}

const same = (field: string, have: unknown, want: unknown): boolean =>
  field === 'LastContactThreshold' || field === 'ServerStabilizationTime'
    ? typeof have === 'string' && typeof want === 'string' && parseGoDuration(have) === parseGoDuration(want)
    : have === want;

/** `CleanupDeadServers true -> false`, per field the inventory wants otherwise; none when equal. */
export function autopilotChanges(have: AutopilotConfig, want: AutopilotWant): string[] {
  return Object.entries(want)
    .filter(
      ([field, value]) => !same(field, have.raw[field] ?? (field === 'MinQuorum' ? 0 : undefined), value),
    )
    .map(
      ([field, value]) => `${field} ${JSON.stringify(have.raw[field] ?? null)} -> ${JSON.stringify(value)}`,
    );
}

/** The body of the write: every field as it is, with the wanted ones replaced, indexes left out. */
export function autopilotBody(have: AutopilotConfig, want: AutopilotWant): JsonObject {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = have.raw;
  return { ...rest, ...want };
}
