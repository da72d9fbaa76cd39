// Go's crypto/tls and x509 error texts for what node's TLS reports, so that the CLI and the
// agents' RPC fail with the words Consul's do.
import net from 'node:net';

/** e: node's TLS error; host: the name checked; certOf(): the peer's certificate when known. Null for a non-TLS error. */
export function tlsErrorText(e, host, certOf) {
  switch (e.code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const sans = (certOf()?.subjectaltname ?? '').split(', ').filter(Boolean);
      const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11));
      const dns = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
      if (net.isIP(host)) {
        return ips.length
          ? `tls: failed to verify certificate: x509: certificate is valid for ${ips.join(', ')}, not ${host}`
          : `tls: failed to verify certificate: x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
      }
      return `tls: failed to verify certificate: x509: certificate is valid for ${dns.join(', ')}, not ${host}`;
    }
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return 'remote error: tls: certificate required';
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
      return 'remote error: tls: bad certificate';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return 'http: server gave HTTP response to HTTPS client';
    default:
      return e.code === 'EPROTO' && /wrong version number|packet length too long/.test(e.message)
        ? 'http: server gave HTTP response to HTTPS client'
        : null;
  }
}
