import type { Vars } from '../inventory/types.js';

/**
 * The TLS vars of the Consul playbooks (ansible-consul's names) and the values each takes. Each is
 * checked on every host that sees it, before any connection: a typo in `consul_tls_http` would
 * otherwise quietly leave plain HTTP open on every address.
 */
const TLS_VARS: Readonly<Record<string, { ok: (v: unknown) => boolean; want: string }>> = {
  consul_tls_enable: { ok: isBoolean, want: 'must be true or false' },
  consul_tls_verify_incoming: { ok: isBoolean, want: 'must be true or false' },
  consul_tls_verify_outgoing: { ok: isBoolean, want: 'must be true or false' },
  consul_tls_verify_server_hostname: { ok: isBoolean, want: 'must be true or false' },
  consul_tls_https_port: {
    ok: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535,
    want: 'must be a port number (1..65535)',
  },
  consul_tls_http: {
    ok: (v) => v === 'loopback' || v === 'off' || v === 'on',
    want: 'must be "loopback" (plain HTTP on 127.0.0.1 only), "off" or "on"',
  },
};

export interface TlsVarProblem {
  readonly name: string;
  readonly message: string;
}

/** What is wrong with the TLS vars a host sees (the vars it does not see are not checked). */
export function tlsVarProblems(vars: Vars): TlsVarProblem[] {
  return Object.entries(TLS_VARS)
    .filter(([name, rule]) => name in vars && !rule.ok(vars[name]))
    .map(([name, rule]) => ({ name, message: `${name} ${rule.want}` }));
}

function isBoolean(v: unknown): boolean {
  return typeof v === 'boolean';
}
