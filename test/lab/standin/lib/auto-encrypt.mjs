// auto_encrypt: servers with allow_tls sign client certificates with the cluster's "Connect CA"
// (agent/consul/auto_encrypt_endpoint.go, leader_connect_ca.go); a client with auto_encrypt.tls
// asks a server for one before it starts anything else (agent/auto-config), over TLS without a
// client certificate (the RPCTLSInsecure path), and then uses it for RPC and HTTPS.
import crypto from 'node:crypto';
import { makeCertificate, newKeyPair } from './x509.mjs';
import { Authorizer, notFound, permissionDenied } from './acl-authorizer.mjs';
import { callInsecureTls } from './rpc.mjs';

const LOG = 'agent.auto_config';
// Consul's defaults: leaf_cert_ttl 72h; the built-in provider's root lasts 10 years.
const LEAF_DAYS = 3;
const ROOT_DAYS = 3650;

/** The root the first leader writes through raft (the built-in provider keeps its key in raft too). */
export function newConnectCa() {
  const clusterId = crypto.randomUUID();
  const { privateKey, publicKey } = newKeyPair();
  const trustDomain = `${clusterId}.consul`;
  const commonName = `pri-${crypto.randomBytes(4).toString('hex')}.consul.ca.${clusterId.slice(0, 8)}.consul`;
  const cert = makeCertificate({
    subject: commonName,
    issuer: commonName,
    publicKey,
    signer: privateKey,
    ca: true,
    days: ROOT_DAYS,
  });
  return {
    id: crypto.createHash('sha256').update(cert).digest('hex').slice(0, 40),
    name: 'Consul CA Primary Cert',
    trustDomain,
    commonName,
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  };
}

/** AutoEncrypt.Sign's checks on the server that receives the call, before it is forwarded. */
export function signPrecheck(rt, params) {
  if (!rt.tls.autoEncrypt.allowTls)
    throw new Error('AutoEncrypt.AllowTLS must be enabled in order to use this endpoint');
  if (params.datacenter !== rt.datacenter) {
    throw new Error(
      `mismatched datacenter (client_dc='${params.datacenter}' server_dc='${rt.datacenter}'); check client has same datacenter set as servers`,
    );
  }
}

/**
 * On the leader: the agent token (identity: what it resolves to in this datacenter, null when
 * unknown) must have node:write on the client's own node (a node identity gives exactly
 * that), then the Connect CA signs the client's public key.
 */
export function signAgentCertificate({ rt, store, params, identity, manualRoots }) {
  const ca = store.connectCa;
  if (!ca) throw new Error('internal error: CA provider is nil');
  if (rt.acl.enabled) {
    const r = identity;
    if (!r) throw notFound();
    const a = new Authorizer({ ...r, defaultPolicy: rt.acl.defaultPolicy });
    if (!a.allowed('node', 'write', params.node))
      throw permissionDenied(r.accessor, 'node', 'write', params.node);
  }
  const publicKey = crypto.createPublicKey(params.publicKey);
  const cert = makeCertificate({
    subject: params.node,
    issuer: ca.commonName,
    publicKey,
    signer: crypto.createPrivateKey(ca.key),
    issuerPublicKey: crypto.createPublicKey(ca.key),
    days: LEAF_DAYS,
    sans: {
      uris: [`spiffe://${ca.trustDomain}/agent/client/dc/${rt.datacenter}/id/${params.node}`],
      dns: ['localhost', ...params.dnsSans],
      ips: ['127.0.0.1', ...params.ipSans],
    },
  });
  // The reply's RootCAs: the agent CA the servers' own certificates chain to, so the client trusts them.
  return { cert, connectRoots: [ca.cert], manualRoots };
}

/**
 * The client side: asks each retry_join address (on this agent's server port) until one signs,
 * retrying with a growing wait while the agent is not stopping. Returns { cert, key, extraCa, serverCa }.
 */
export async function requestAgentCertificate(agent) {
  const { rt, logger } = agent;
  const { privateKey, publicKey } = newKeyPair();
  const p = agent.tlsMaterial.internal_rpc;
  const tlsOptions = { ca: p.ca, minVersion: p.minVersion };
  if (p.verifyServerHostname) tlsOptions.servername = `server.${rt.datacenter}.${rt.domain}`;
  else tlsOptions.checkServerIdentity = () => undefined;
  const params = {
    datacenter: rt.datacenter,
    node: rt.nodeName,
    token: agent.tokens.agentToken(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
    dnsSans: rt.tls.autoEncrypt.dnsSan,
    ipSans: rt.tls.autoEncrypt.ipSan,
  };
  const addrs = rt.retryJoin
    .filter((t) => !t.startsWith('provider='))
    .map((h) => ({ host: h, port: rt.ports.server }));
  for (let wait = 1000; !agent.stopping; wait = Math.min(wait * 2, 10000)) {
    for (const { host, port } of addrs) {
      try {
        const reply = await callInsecureTls(host, port, 'AutoEncrypt.Sign', params, tlsOptions, 5000);
        return {
          cert: reply.cert,
          key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
          extraCa: [...reply.connectRoots, ...reply.manualRoots],
        };
      } catch (e) {
        logger.error(LOG, 'AutoEncrypt.Sign RPC failed', { addr: `${host}:${port}`, error: e.message });
      }
    }
    logger.error(LOG, 'No servers successfully responded to the auto-encrypt request');
    await new Promise((r) => setTimeout(r, wait));
  }
  return null;
}
