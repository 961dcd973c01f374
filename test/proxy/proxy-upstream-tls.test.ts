// TLS to upstreams, as Kong's service fields set it, against real HTTPS upstreams of a small
// PKI (root, intermediate, server and client certificates): no verification by default,
// `tls_verify` with the system's CAs (fails on a private CA) or the service's
// `ca_certificates`, `tls_verify_depth`, `client_certificate` for mutual TLS, Kong's 502 body
// when verification fails, and a replaced client certificate used without restart.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import type { CaCertificate, Certificate, ChangeEvent, Route, Service } from '../../src/entities/types.ts';
import { route, service, snapshot } from '../support/proxy-fixtures.ts';
import { caChain, selfSigned, type CaChain } from '../support/tls-fixtures.ts';

let pki: CaChain;
let proxy: ProxyServer;
let proxyPort: number;
const servers: https.Server[] = [];
const routes: Route[] = [];
const services: Service[] = [];
let ca: CaCertificate;
let clientCert: Certificate;

/** An HTTPS upstream answering with what it saw of the TLS connection. */
async function upstream(opts: https.ServerOptions): Promise<number> {
  const server = https.createServer(opts, (req, res) => {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ servername: (sock as unknown as { servername?: string }).servername ?? null, client: peer?.subject?.CN ?? null }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

function add(path: string, port: number, o: Partial<Service> = {}): Service {
  const s = service({ protocol: 'https', host: '127.0.0.1', port, retries: 0, ...o });
  services.push(s);
  routes.push(route(s, { paths: [path] }));
  return s;
}

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${proxyPort}${path}`);
  return { status: res.status, body: await res.json() };
}

const entity = <T>(o: T) => ({ ...o, tags: null, created_at: 1, updated_at: 1 });

beforeAll(async () => {
  pki = caChain();
  ca = entity({ id: randomUUID(), cert: pki.root, cert_digest: 'x' });
  clientCert = entity({ id: randomUUID(), cert: pki.client.cert, key: pki.client.key, cert_alt: null, key_alt: null });
  const direct = await upstream({ cert: pki.direct.cert, key: pki.direct.key });
  const chained = await upstream({ cert: pki.chained.cert + pki.intermediate, key: pki.chained.key });
  const mutual = await upstream({ cert: pki.direct.cert, key: pki.direct.key, requestCert: true, rejectUnauthorized: true, ca: pki.root });
  add('/default', direct);
  add('/verify-system', direct, { tls_verify: true });
  add('/verify-ca', direct, { tls_verify: true, ca_certificates: [ca.id] });
  add('/depth0-direct', direct, { tls_verify: true, ca_certificates: [ca.id], tls_verify_depth: 0 });
  add('/depth0-chained', chained, { tls_verify: true, ca_certificates: [ca.id], tls_verify_depth: 0 });
  add('/depth1-chained', chained, { tls_verify: true, ca_certificates: [ca.id], tls_verify_depth: 1 });
  add('/mtls-none', mutual);
  add('/mtls', mutual, { client_certificate: { id: clientCert.id } });
  proxy = await createProxyServer({ snapshot: snapshot({ services, routes, certificates: [clientCert], ca_certificates: [ca] }) });
  proxyPort = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const BAD_GATEWAY = 'An invalid response was received from the upstream server';

describe('verification', () => {
  test('without tls_verify an https upstream is not verified (Kong default)', async () => {
    expect(await get('/default')).toMatchObject({ status: 200, body: { client: null } });
  });

  test("tls_verify with the system's CAs refuses a private CA's certificate: 502 with Kong's body", async () => {
    const r = await get('/verify-system');
    expect(r.status).toBe(502);
    expect(r.body.message).toBe(BAD_GATEWAY);
  });

  test("tls_verify with the service's ca_certificates accepts the upstream", async () => {
    expect((await get('/verify-ca')).status).toBe(200);
  });

  test('tls_verify_depth 0 accepts a certificate the root signed, refuses one behind an intermediate; depth 1 accepts it', async () => {
    expect((await get('/depth0-direct')).status).toBe(200);
    const refused = await get('/depth0-chained');
    expect(refused.status).toBe(502);
    expect(refused.body.message).toBe(BAD_GATEWAY);
    expect((await get('/depth1-chained')).status).toBe(200);
  });
});

describe('client_certificate (mutual TLS to the upstream)', () => {
  test('an upstream requiring a client certificate refuses a service without one: 502', async () => {
    const r = await get('/mtls-none');
    expect(r.status).toBe(502);
    expect(r.body.message).toBe(BAD_GATEWAY);
  });

  test("the service's client_certificate is presented", async () => {
    expect(await get('/mtls')).toMatchObject({ status: 200, body: { client: 'gossamer-client' } });
  });

  test('a replaced client certificate is used from the next connection, without restart', async () => {
    const other = selfSigned('not-signed-by-the-root');
    const ev: ChangeEvent = {
      id: randomUUID(), config_version: 10, channel: 'invalidations', entity: 'certificates', op: 'update', entity_id: clientCert.id,
      cache_keys: [], data: { ...clientCert, cert: other.cert, key: other.key }, node_id: null, at: Date.now(),
    };
    proxy.applyChanges([ev]);
    await proxy.settled();
    expect((await get('/mtls')).status).toBe(502);
    proxy.applyChanges([{ ...ev, id: randomUUID(), config_version: 11, data: clientCert }]);
    await proxy.settled();
    expect(await get('/mtls')).toMatchObject({ status: 200, body: { client: 'gossamer-client' } });
  });
});
