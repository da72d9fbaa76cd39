// TLS settings as Consul 1.12+ builds them (agent/config/builder.go buildTLSConfig) and loads
// them at agent start (tlsutil/config.go NewConfigurator, loadProtocolConfig). The builder's
// errors fail `consul validate`; the file checks only fail the agent's start, as in Consul.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { goPathError } from './config-decode.mjs';

const PROTOCOLS = ['internal_rpc', 'https', 'grpc'];
// tlsutil's tlsLookup: the names Consul accepts for tls_min_version.
const TLS_VERSIONS = { TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };

/**
 * The runtime TLS config: each protocol's own value, else tls.defaults' (verify_outgoing does
 * not exist for grpc); verify_server_hostname implies verify_outgoing (CVE-2018-19653).
 * Throws the builder's error text for keys in the wrong stanza.
 */
export function buildTlsRuntime(cfg, fail) {
  const t = cfg.tls ?? {};
  const d = t.defaults ?? {};
  for (const stanza of ['defaults', 'https', 'grpc']) {
    if (t[stanza]?.verify_server_hostname !== undefined)
      fail('verify_server_hostname is only valid in the tls.internal_rpc stanza');
  }
  if (t.grpc?.verify_outgoing !== undefined) fail('verify_outgoing is not valid in the tls.grpc stanza');
  for (const stanza of ['defaults', 'internal_rpc', 'https']) {
    if (t[stanza]?.use_auto_cert !== undefined) fail('use_auto_cert is only valid in the tls.grpc stanza');
  }
  const out = {};
  for (const name of PROTOCOLS) {
    const p = t[name] ?? {};
    const pick = (k, fallback) => p[k] ?? d[k] ?? fallback;
    const version = pick('tls_min_version', 'TLSv1_2');
    if (!(version in TLS_VERSIONS))
      fail(
        `TLSMinVersion: value ${version} not supported, please specify one of [${Object.keys(TLS_VERSIONS).join(',')}]`,
      );
    out[name] = {
      caFile: pick('ca_file', ''),
      caPath: pick('ca_path', ''),
      certFile: pick('cert_file', ''),
      keyFile: pick('key_file', ''),
      verifyIncoming: pick('verify_incoming', false) === true,
      verifyOutgoing: name === 'grpc' ? false : pick('verify_outgoing', false) === true,
      minVersion: TLS_VERSIONS[version],
    };
  }
  out.internal_rpc.verifyServerHostname = t.internal_rpc?.verify_server_hostname === true;
  out.internal_rpc.verifyOutgoing ||= out.internal_rpc.verifyServerHostname;
  const ae = cfg.auto_encrypt ?? {};
  out.autoEncrypt = {
    tls: ae.tls === true,
    allowTls: ae.allow_tls === true,
    dnsSan: ae.dns_san ?? [],
    ipSan: ae.ip_san ?? [],
  };
  // builder.go: c.AutoTLS = rt.AutoEncryptTLS || rt.AutoConfig.Enabled
  out.autoTls = out.autoEncrypt.tls || cfg.auto_config?.enabled === true;
  return out;
}

/** The builder's warnings about TLS (logged at start, printed by `consul validate`). */
export function tlsWarnings(tlsRt) {
  const w = [];
  if (tlsRt.autoEncrypt.allowTls && !tlsRt.internal_rpc.verifyIncoming) {
    w.push(
      'if auto_encrypt.allow_tls is turned on, tls.internal_rpc.verify_incoming should be enabled (either explicitly or via tls.defaults.verify_incoming). It is necessary to turn it off during a migration to TLS, but it should definitely be turned on afterwards.',
    );
  }
  return w;
}

export class TlsLoadError extends Error {}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** tlsutil LoadCAs: the PEM text of ca_file, else of every file in ca_path. */
function loadCAs(caFile, caPath) {
  const pems = [];
  if (caFile) {
    try {
      pems.push(fs.readFileSync(caFile, 'utf8'));
    } catch (e) {
      throw new TlsLoadError(`Error loading from ${caFile}: ${goPathError(e, 'open', caFile)}`);
    }
  } else if (caPath) {
    let names = [];
    try {
      names = fs.readdirSync(caPath);
    } catch (e) {
      throw new TlsLoadError(`Error loading from ${caPath}: ${goPathError(e, 'open', caPath)}`);
    }
    for (const n of names.sort()) {
      const full = path.join(caPath, n);
      try {
        if (fs.statSync(full).isFile()) pems.push(fs.readFileSync(full, 'utf8'));
      } catch {
        /* as filepath.Walk: unreadable entries are skipped */
      }
    }
    if (!pems.length) throw new TlsLoadError('Error loading from CAPath: no CAs found');
  }
  const certs = [];
  for (const pem of pems) {
    const found = pem.match(PEM_CERT) ?? [];
    const parsed = found.filter((c) => {
      try {
        new crypto.X509Certificate(c);
        return true;
      } catch {
        return false;
      }
    });
    if (!parsed.length) throw new TlsLoadError(`failed to parse PEM ${pem}`);
    certs.push(...parsed);
  }
  return certs;
}

/** tls.LoadX509KeyPair, with Go's texts (never the key's contents). */
function loadKeyPair(certFile, keyFile) {
  if (!certFile || !keyFile) return null;
  const read = (f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch (e) {
      throw new TlsLoadError(`Failed to load cert/key pair: ${goPathError(e, 'open', f)}`);
    }
  };
  const cert = read(certFile);
  const key = read(keyFile);
  if (!(cert.match(PEM_CERT) ?? []).length)
    throw new TlsLoadError(
      'Failed to load cert/key pair: tls: failed to find any PEM data in certificate input',
    );
  let privateKey;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch {
    throw new TlsLoadError('Failed to load cert/key pair: tls: failed to find any PEM data in key input');
  }
  const leaf = new crypto.X509Certificate(cert.match(PEM_CERT)[0]);
  if (!leaf.checkPrivateKey(privateKey))
    throw new TlsLoadError('Failed to load cert/key pair: tls: private key does not match public key');
  return { cert, key, leaf };
}

/**
 * Loads one protocol's files and applies tlsutil's start-up checks. `autoTls` (auto_encrypt or
 * auto_config) lets verify_incoming go without a configured cert: the cert comes from a server.
 */
export function loadProtocol(pc, autoTls) {
  const ca = pc.caFile || pc.caPath ? loadCAs(pc.caFile, pc.caPath) : [];
  const pair = loadKeyPair(pc.certFile, pc.keyFile);
  if (pc.verifyIncoming) {
    if (!ca.length) throw new TlsLoadError('VerifyIncoming set but no CA certificates were provided');
    if (!pair && !autoTls)
      throw new TlsLoadError(
        'VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled',
      );
  }
  if (pc.verifyOutgoing && !ca.length)
    throw new TlsLoadError('VerifyOutgoing set but no CA certificates were provided');
  return { ...pc, ca, pair };
}

/** Every protocol's material, as NewConfigurator loads it (the first failing protocol wins). */
export function loadTls(tlsRt) {
  const out = { autoEncrypt: tlsRt.autoEncrypt, autoTls: tlsRt.autoTls };
  for (const name of PROTOCOLS) out[name] = loadProtocol(tlsRt[name], tlsRt.autoTls);
  return out;
}

/**
 * Node TLS options for a server socket of one protocol, or null without a certificate. `auto`
 * holds what auto_encrypt brought: the agent's certificate (when none is configured) and extra
 * roots to trust (the Connect CA, whose certificates auto_encrypt clients present).
 */
export function serverOptions(p, auto = {}) {
  const pair = p.pair ?? auto.pair;
  if (!pair) return null;
  const ca = [...p.ca, ...(auto.extraCa ?? [])];
  return {
    cert: pair.cert,
    key: pair.key,
    ca: ca.length ? ca : undefined,
    minVersion: p.minVersion,
    requestCert: p.verifyIncoming,
    rejectUnauthorized: p.verifyIncoming,
  };
}
