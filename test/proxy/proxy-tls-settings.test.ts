// ssl_cipher_suite, ssl_protocols, ssl_ciphers, ssl_prefer_server_ciphers and the session keys
// on an `ssl` proxy listener, with real TLS clients (node:tls) offering one protocol or one
// cipher: what Kong's nginx accepts, refuses and resumes under each setting. The default
// certificate is ECDSA, so the ciphers offered here are the ECDSA ones.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls, { type ConnectionOptions } from 'node:tls';
import { loadConfig } from '../../src/config/index.ts';
import { freePort } from '../../src/db/embedded.ts';
import type { Certificate, Sni } from '../../src/entities/types.ts';
import { createLogger } from '../../src/log.ts';
import { startNodeProxy, type NodeProxy } from '../../src/proxy/node-proxy.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { loadProxyTls } from '../../src/proxy/tls-certs.ts';
import { tlsContextSettings } from '../../src/proxy/tls-settings.ts';
import { echoServer, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { selfSigned } from '../support/tls-fixtures.ts';

let prefix: string;
let up: Upstream_;
const s = service({ port: 0 });
const sniCert = selfSigned('sni.example', 'ec');
const certificate: Certificate = { id: randomUUID(), cert: sniCert.cert, key: sniCert.key, cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 };
const sni: Sni = { id: randomUUID(), name: 'sni.example', certificate: { id: certificate.id }, tags: null, created_at: 1, updated_at: 1 };
const snap = () => snapshot({ services: [s], routes: [route(s, { paths: ['/any'] })], certificates: [certificate], snis: [sni] });

interface Handshake {
  protocol?: string | null;
  cipher?: string;
  reused?: boolean;
  session?: Buffer;
  status?: string;
  error?: string;
}

/** One connection, one request (Connection: close); what was negotiated, or the handshake error. */
function handshake(port: number, extra: ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...extra });
    let session: Buffer | undefined;
    let data = '';
    sock.on('session', (b) => (session = b));
    sock.on('secureConnect', () => sock.write('GET /any HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    sock.on('data', (d) => (data += d));
    sock.on('error', (err) => resolve({ error: err.message }));
    sock.on('end', () => resolve({ protocol: sock.getProtocol(), cipher: sock.getCipher()?.name, reused: sock.isSessionReused(), session, status: data.split('\r\n')[0] }));
  });
}

/** tlsContextSettings of a configuration made from `conf` (key = value pairs). */
function settingsOf(conf: Record<string, string>) {
  const { config, errors } = loadConfig({ env: {}, file: '/dev/null', overrides: { prefix, ...conf } });
  expect(errors).toEqual([]);
  return tlsContextSettings(config);
}

const proxies: ProxyServer[] = [];
async function listener(conf: Record<string, string>): Promise<number> {
  const p = await createProxyServer({ snapshot: snap(), tls: { ...loadProxyTls({ cert: [], key: [], prefix }), settings: settingsOf(conf) } });
  proxies.push(p);
  return (await p.listen(0, '127.0.0.1', true)).port;
}

// TLSv1 and TLSv1.1 need SHA-1 signatures, which OpenSSL 3 allows only at security level 0.
const TLS11: ConnectionOptions = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' };
const TLS12 = (ciphers: string): ConnectionOptions => ({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers });

beforeAll(async () => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-tls-settings-'));
  up = await echoServer();
  s.port = up.port;
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  await up?.close();
  fs.rmSync(prefix, { recursive: true, force: true });
});

describe('ssl_cipher_suite and ssl_protocols', () => {
  test('the default (intermediate) refuses a TLSv1.1-only client and serves TLSv1.2 and TLSv1.3', async () => {
    const port = await listener({});
    expect((await handshake(port, TLS11)).error).toMatch(/protocol version|unsupported protocol/i);
    expect(await handshake(port, { maxVersion: 'TLSv1.2' })).toMatchObject({ protocol: 'TLSv1.2', status: 'HTTP/1.1 200 OK' });
    expect(await handshake(port)).toMatchObject({ protocol: 'TLSv1.3', status: 'HTTP/1.1 200 OK' });
  });

  test('old accepts the TLSv1.1 client the default refuses', async () => {
    const port = await listener({ ssl_cipher_suite: 'old' });
    expect(await handshake(port, TLS11)).toMatchObject({ protocol: 'TLSv1.1', status: 'HTTP/1.1 200 OK' });
  });

  test('custom with ssl_protocols = TLSv1.3: only TLSv1.3 is served', async () => {
    const port = await listener({ ssl_cipher_suite: 'custom', ssl_protocols: 'TLSv1.3' });
    expect((await handshake(port, { maxVersion: 'TLSv1.2' })).error).toMatch(/protocol version|unsupported protocol/i);
    expect(await handshake(port)).toMatchObject({ protocol: 'TLSv1.3', status: 'HTTP/1.1 200 OK' });
  });

  test('ssl_protocols is ignored unless the suite is custom, as in Kong', async () => {
    const port = await listener({ ssl_protocols: 'TLSv1.3' });
    expect(await handshake(port, { maxVersion: 'TLSv1.2' })).toMatchObject({ protocol: 'TLSv1.2', status: 'HTTP/1.1 200 OK' });
  });

  test('modern refuses a client whose ciphers are outside it (TLSv1.2 only), on the default and on an SNI certificate', async () => {
    const port = await listener({ ssl_cipher_suite: 'modern' });
    for (const servername of [undefined, 'sni.example']) {
      const refused = await handshake(port, { ...TLS12('ECDHE-ECDSA-AES128-GCM-SHA256'), servername });
      expect(refused.error).toMatch(/protocol version|unsupported protocol/i);
      expect(await handshake(port, { servername })).toMatchObject({ protocol: 'TLSv1.3', status: 'HTTP/1.1 200 OK' });
    }
  });

  test("intermediate refuses a cipher only old has, and old serves it", async () => {
    const intermediate = await listener({});
    expect((await handshake(intermediate, TLS12('ECDHE-ECDSA-AES128-SHA'))).error).toMatch(/handshake failure/i);
    expect(await handshake(intermediate, TLS12('ECDHE-ECDSA-AES128-GCM-SHA256'))).toMatchObject({ cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    const old = await listener({ ssl_cipher_suite: 'old' });
    expect(await handshake(old, TLS12('ECDHE-ECDSA-AES128-SHA'))).toMatchObject({ cipher: 'ECDHE-ECDSA-AES128-SHA', status: 'HTTP/1.1 200 OK' });
  });

  test('custom ssl_ciphers: only those ciphers; ssl_prefer_server_ciphers picks whose order wins', async () => {
    const both = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256';
    const serverOrder = await listener({ ssl_cipher_suite: 'custom', ssl_ciphers: both, ssl_prefer_server_ciphers: 'on' });
    const clientOrder = await listener({ ssl_cipher_suite: 'custom', ssl_ciphers: both, ssl_prefer_server_ciphers: 'off' });
    const reversed = TLS12('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384');
    expect((await handshake(serverOrder, reversed)).cipher).toBe('ECDHE-ECDSA-AES256-GCM-SHA384');
    expect((await handshake(clientOrder, reversed)).cipher).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect((await handshake(serverOrder, TLS12('ECDHE-ECDSA-CHACHA20-POLY1305'))).error).toMatch(/handshake failure/i);
  });
});

describe('session resumption', () => {
  test('a second connection with the first one\'s session is resumed (TLSv1.2 and TLSv1.3)', async () => {
    const port = await listener({});
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(port, { maxVersion });
      expect(first.reused).toBe(false);
      expect(first.session).toBeDefined();
      const second = await handshake(port, { maxVersion, session: first.session });
      expect(second).toMatchObject({ reused: true, protocol: maxVersion, status: 'HTTP/1.1 200 OK' });
    }
  });

  test('ssl_session_timeout: a session older than it is not resumed', async () => {
    const port = await listener({ ssl_session_timeout: '1s' });
    const first = await handshake(port, { maxVersion: 'TLSv1.2' });
    expect(await handshake(port, { maxVersion: 'TLSv1.2', session: first.session })).toMatchObject({ reused: true });
    await new Promise((r) => setTimeout(r, 2500));
    expect(await handshake(port, { maxVersion: 'TLSv1.2', session: first.session })).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
  });

  test('ssl_session_tickets = off: no session is resumed', async () => {
    const port = await listener({ ssl_session_tickets: 'off' });
    const first = await handshake(port, { maxVersion: 'TLSv1.2' });
    const second = await handshake(port, { maxVersion: 'TLSv1.2', session: first.session });
    expect(second).toMatchObject({ reused: false, status: 'HTTP/1.1 200 OK' });
  });

  describe('across proxy workers', () => {
    let node: NodeProxy | null = null;
    afterAll(async () => {
      await node?.stop();
    });

    test('a session made on one worker resumes on the others (they share the ticket keys)', async () => {
      const port = await freePort();
      const { config } = loadConfig({ env: {}, file: '/dev/null', overrides: { prefix } });
      node = await startNodeProxy({
        workerProcesses: 2,
        listen: [{ host: '127.0.0.1', port, flags: ['ssl'] }],
        snapshot: snap,
        logger: createLogger('test-tls-settings', 'silent'),
        nodeName: 'tls-settings',
        logLevel: 'silent',
        ssl: { cert: [], key: [], prefix, settings: tlsContextSettings(config) },
      });
      const first = await handshake(port, { maxVersion: 'TLSv1.2' });
      expect(first.status).toBe('HTTP/1.1 200 OK');
      // node:cluster hands connections to the workers in turn: four of them reach both.
      for (let i = 0; i < 4; i++) expect(await handshake(port, { maxVersion: 'TLSv1.2', session: first.session })).toMatchObject({ reused: true });
    }, 60_000);
  });
});
