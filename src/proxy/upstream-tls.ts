// TLS to an `https` service's upstream, as Kong's service fields set it: `tls_verify`
// (Kong's default, nginx's proxy_ssl_verify off, does not verify), `tls_verify_depth`,
// `ca_certificates` (the CAs trusted instead of the system's when verifying) and
// `client_certificate` (the pair presented for mutual TLS). Certificates come from the
// worker's entity store; the key of a setting names the exact entity objects it was built from,
// so a replaced certificate or CA gets a new connection pool and the next request uses it.
import tls, { type ConnectionOptions, type PeerCertificate } from 'node:tls';
import type { EntityStore } from '../cache/entity-store.ts';
import type { Service } from '../entities/types.ts';

/** A number per entity object: a replaced entity is a new object, so a new number. */
const serials = new WeakMap<object, number>();
let nextSerial = 1;
function serialOf(o: object): number {
  let n = serials.get(o);
  if (n === undefined) serials.set(o, (n = nextSerial++));
  return n;
}

export interface UpstreamTlsSettings {
  /** Part of the pool key: equal keys mean equal connect options. */
  key: string;
  connect: ConnectionOptions;
}

/** How many certificates the verified chain holds, the peer's first (its root last). */
function chainLength(cert: PeerCertificate): number {
  let n = 1;
  let c = cert as tls.DetailedPeerCertificate;
  const seen = new Set<string>([c.fingerprint256]);
  while (c.issuerCertificate && !seen.has(c.issuerCertificate.fingerprint256)) {
    c = c.issuerCertificate;
    seen.add(c.fingerprint256);
    n++;
  }
  return n;
}

/**
 * OpenSSL's verify depth (nginx's proxy_ssl_verify_depth): with depth d the chain may hold the
 * peer's certificate, d intermediate levels and the trust anchor.
 */
function depthCheck(depth: number) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const err = tls.checkServerIdentity(host, cert);
    if (err) return err;
    const levels = chainLength(cert);
    if (levels > depth + 2) return Object.assign(new Error(`certificate chain too long (${levels} certificates, tls_verify_depth ${depth})`), { code: 'CERT_CHAIN_TOO_LONG' });
    return undefined;
  };
}

/** The TLS connect options for `service`'s upstream, or null for Kong's defaults (no verification, no client certificate). */
export function upstreamTls(service: Service, store: EntityStore | undefined): UpstreamTlsSettings | null {
  const verify = service.tls_verify === true;
  const clientRef = service.client_certificate?.id;
  if (!verify && !clientRef) return null;
  const connect: ConnectionOptions = { rejectUnauthorized: verify };
  let key = verify ? `v${service.tls_verify_depth ?? '-'}` : 'n';
  if (verify) {
    const cas = (service.ca_certificates ?? []).map((id) => store?.get('ca_certificates', id)).filter((c) => c !== undefined);
    if (cas.length) {
      connect.ca = cas.map((c) => c.cert);
      key += `|ca${cas.map(serialOf).join(',')}`;
    }
    if (typeof service.tls_verify_depth === 'number') connect.checkServerIdentity = depthCheck(service.tls_verify_depth);
  }
  const client = clientRef ? store?.get('certificates', clientRef) : undefined;
  if (client) {
    connect.cert = client.cert;
    connect.key = client.key;
    key += `|cc${serialOf(client)}`;
  }
  return { key, connect };
}
