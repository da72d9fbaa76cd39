import type { Vars } from '../../inventory/types.js';
import { isSecret, type Secret } from '../../shell/secret.js';
import type { HttpTls } from '../../ssh/transport.js';
import { DEFAULT_DOMAIN, serverName } from '../../tls/consul-conventions.js';

/** Where drover sends an agent's API requests, as seen from the host whose connection carries them. */
export interface AgentEndpoint {
  readonly host: string;
  readonly port: number;
  /** HTTPS, checked against the cluster's CA; absent: plain HTTP. */
  readonly tls?: HttpTls;
  /** The ACL token drover's calls carry, when the cluster has ACLs. */
  readonly token?: Secret;
}

/** A TLS cluster as drover's own calls need it (the deploy playbook's vars and the session's CA). */
export interface ClusterTls {
  readonly ca: string;
  /** Consul's DNS domain: servers present `server.<dc>.<domain>`. */
  readonly domain: string;
  readonly httpsPort: number;
  /** consul_tls_http: plain HTTP on 127.0.0.1 only, none, or everywhere as before TLS. */
  readonly http: 'loopback' | 'off' | 'on';
}

/** Consul's default `ports.https`. */
export const DEFAULT_HTTPS_PORT = 8501;

/**
 * The cluster's TLS from a host's vars: `consul_tls_enable: true` and the CA the session put in
 * `drover_tls_ca_pem`. Undefined: the agents speak plain HTTP, as before TLS.
 */
export function clusterTlsFromVars(vars: Vars): ClusterTls | undefined {
  const ca = vars['drover_tls_ca_pem'];
  if (vars['consul_tls_enable'] !== true || typeof ca !== 'string') return undefined;
  const port = vars['consul_tls_https_port'];
  const http = vars['consul_tls_http'];
  const domain = vars['consul_domain'];
  return {
    ca,
    domain: typeof domain === 'string' && domain !== '' ? domain : DEFAULT_DOMAIN,
    httpsPort: typeof port === 'number' ? port : DEFAULT_HTTPS_PORT,
    http: http === 'off' || http === 'on' ? http : 'loopback',
  };
}

/** Where the session puts the ACL token drover's own calls carry (the management token, a Secret). */
export const ACL_TOKEN_VAR_OF_SESSION = 'drover_acl_token';
/**
 * With `consul_acl_enable`: the management token for the ACL set-up itself (consul_acl), also
 * while drover's other calls carry none (`consul_acl_tokens: false`, the first step of turning
 * ACLs on for a running cluster).
 */
export const ACL_MANAGEMENT_VAR_OF_SESSION = 'drover_acl_management_token';
/** With `consul_acl_enable`: this host's agent token, as its config names it (acl.tokens.agent). */
export const ACL_AGENT_TOKEN_VAR = 'drover_acl_agent_token';
/**
 * With `consul_acl_enable`: the token this host's agent registers the services of its config
 * files with (acl.tokens.config_file_service_registration), its service identities.
 */
export const ACL_SERVICES_TOKEN_VAR = 'drover_acl_services_token';
/** With `consul_acl_enable`: the DNS token, every agent's default token (acl.tokens.default). */
export const ACL_DNS_TOKEN_VAR = 'drover_acl_dns_token';
/**
 * With `consul_acl_enable` and `consul_acl_datacenter`: on the servers of every other
 * datacenter, the token they replicate the primary's ACLs with (acl.tokens.replication).
 */
export const ACL_REPLICATION_TOKEN_VAR = 'drover_acl_replication_token';

/** A host's datacenter as its agent config gets it: `consul_datacenter`, the deploy playbook's dc1 when unset. */
export function datacenterFromVars(vars: Readonly<Vars>): string {
  const dc = vars['consul_datacenter'];
  return typeof dc === 'string' ? dc : 'dc1';
}

/** `consul_acl_datacenter`, the primary datacenter of ACLs; undefined when unset or "". */
export function aclPrimaryFromVars(vars: Readonly<Vars>): string | undefined {
  const dc = vars['consul_acl_datacenter'];
  return typeof dc === 'string' && dc !== '' ? dc : undefined;
}

/** The token drover's calls carry, from a host's vars; undefined: the cluster has no ACLs for drover. */
export function aclTokenFromVars(vars: Vars): Secret | undefined {
  const token = vars[ACL_TOKEN_VAR_OF_SESSION];
  return isSecret(token) ? token : undefined;
}

/** `{ token }` for a request's options when a host's vars give one, `{}` otherwise. */
export function aclTokenOption(vars: Vars | undefined): { token?: Secret } {
  const token = vars && aclTokenFromVars(vars);
  return token ? { token } : {};
}

const ACCESS_VARS = [
  'consul_tls_enable',
  'consul_domain',
  'consul_tls_https_port',
  'consul_tls_http',
  'drover_tls_ca_pem',
  ACL_TOKEN_VAR_OF_SESSION,
];

/**
 * The vars that say how drover reaches the agents (clusterTlsFromVars, aclTokenFromVars), from
 * one host's: for callers that build a view of their own.
 */
export const accessVarsOf = (vars: Vars): Vars =>
  Object.fromEntries(ACCESS_VARS.filter((k) => vars[k] !== undefined).map((k) => [k, vars[k]]));

export interface EndpointTarget {
  /** The agent runs on the host whose connection carries the request. */
  readonly here: boolean;
  /** Its address from elsewhere (bind_addr). */
  readonly address: string;
  readonly role: 'server' | 'client';
  readonly datacenter?: string | undefined;
  readonly httpPort: number;
}

/**
 * How to reach an agent: plain HTTP as before TLS, or while its plain listener is reachable (the
 * agent on this very host in loopback mode, everywhere in "on" mode); otherwise HTTPS on its
 * address, a server checked as `server.<dc>.<domain>` (what verify_server_hostname checks too) and
 * the agent of this host as `localhost` (every server certificate carries it).
 */
export function agentEndpoint(
  target: EndpointTarget,
  tls: ClusterTls | undefined,
  token?: Secret,
): AgentEndpoint {
  const plainHost = target.here ? '127.0.0.1' : target.address;
  const withToken = token ? { token } : {};
  if (!tls || tls.http === 'on' || (tls.http === 'loopback' && target.here)) {
    return { host: plainHost, port: target.httpPort, ...withToken };
  }
  const servername =
    target.here || target.role !== 'server'
      ? 'localhost'
      : // dc1 is Consul's own default, and the deploy playbook's.
        serverName(target.datacenter ?? 'dc1', tls.domain);
  return { host: plainHost, port: tls.httpsPort, tls: { ca: tls.ca, servername }, ...withToken };
}
