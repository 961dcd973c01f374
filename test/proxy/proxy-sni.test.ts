// Certificate selection on `ssl` listeners with real TLS clients (node:tls with `servername`),
// one test per rule of Kong's find_certificate: exact SNI, prefix wildcard, suffix wildcard,
// the `*` SNI, the default certificate (unknown or no server name); RSA or ECDSA by what the
// client offers; and rotation (create, replace, delete) without a restart, in-process and on
// every worker of a node.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls, { type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/log.ts';
import { startNodeProxy } from '../../src/proxy/node-proxy.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { loadProxyTls } from '../../src/proxy/tls-certs.ts';
import type { Certificate, ChangeEvent, ConfigSnapshot, Sni } from '../../src/entities/types.ts';
import { echoServer, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { selfSigned } from '../support/tls-fixtures.ts';

let prefix: string;
let up: Upstream_;
let version = 1;

function certificate(cn: string, alt?: string): Certificate {
  const main = selfSigned(cn, 'rsa');
  const other = alt ? selfSigned(alt, 'ec') : null;
  return { id: randomUUID(), cert: main.cert, key: main.key, cert_alt: other?.cert ?? null, key_alt: other?.key ?? null, tags: null, created_at: 1, updated_at: 1 };
}
const sni = (name: string, c: Certificate): Sni => ({ id: randomUUID(), name, certificate: { id: c.id }, tags: null, created_at: 1, updated_at: 1 });

function event(entity: 'certificates' | 'snis', op: ChangeEvent['op'], data: { id: string }): ChangeEvent {
  return { id: randomUUID(), config_version: ++version, channel: 'invalidations', entity, op, entity_id: data.id, cache_keys: [], data: op === 'delete' ? null : data, node_id: null, at: Date.now() };
}

/** The certificate the listener presents to a client naming `servername` (undefined: none sent). */
function presented(port: number, servername: string | undefined, extra: ConnectionOptions = {}): Promise<PeerCertificate & { keyType: string }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...extra }, () => {
      const cert = sock.getPeerCertificate();
      const keyType = cert.pubkey ? (cert.asn1Curve || cert.nistCurve ? 'ec' : 'rsa') : 'unknown';
      sock.end();
      resolve(Object.assign(cert, { keyType }));
    });
    sock.on('error', reject);
  });
}
const cnFor = async (port: number, name: string | undefined, extra?: ConnectionOptions) => (await presented(port, name, extra)).subject.CN;

const s = service({ port: 0 });
const exact = certificate('exact.example.com');
const prefixWild = certificate('prefix-wildcard');
const suffixWild = certificate('suffix-wildcard');
const catchAll = certificate('catch-all');
const dual = certificate('dual-rsa.test', 'dual-ecdsa.test');

function snap(): ConfigSnapshot {
  return snapshot({
    services: [s],
    routes: [route(s, { paths: ['/'] })],
    certificates: [exact, prefixWild, suffixWild, dual],
    snis: [
      sni('exact.example.com', exact),
      sni('*.example.com', prefixWild),
      sni('www.example.*', suffixWild),
      sni('both.example.org', exact),
      sni('*.example.org', prefixWild),
      sni('both.example.*', suffixWild),
      sni('dual.test', dual),
    ],
  });
}

let proxy: ProxyServer;
let port: number;

beforeAll(async () => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-sni-'));
  up = await echoServer();
  s.port = up.port;
  proxy = await createProxyServer({ snapshot: snap(), tls: loadProxyTls({ cert: [], key: [], prefix }) });
  port = (await proxy.listen(0, '127.0.0.1', true)).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  fs.rmSync(prefix, { recursive: true, force: true });
});

describe('selection rules (Kong find_certificate)', () => {
  test('an exact SNI selects its certificate', async () => {
    expect(await cnFor(port, 'exact.example.com')).toBe('exact.example.com');
  });

  test('a prefix wildcard *.example.com matches one label in front (not the bare domain, not two labels)', async () => {
    expect(await cnFor(port, 'api.example.com')).toBe('prefix-wildcard');
    expect(await cnFor(port, 'example.com')).toBe('localhost');
  });

  test('a suffix wildcard www.example.* matches the last label', async () => {
    expect(await cnFor(port, 'www.example.net')).toBe('suffix-wildcard');
    expect(await cnFor(port, 'www.example.co')).toBe('suffix-wildcard');
  });

  test('exact before prefix wildcard before suffix wildcard', async () => {
    expect(await cnFor(port, 'both.example.org')).toBe('exact.example.com');
    proxy.applyChanges([event('snis', 'delete', [...proxy.runtime.store.tables.snis.values()].find((x) => x.name === 'both.example.org')!)]);
    await proxy.settled();
    expect(await cnFor(port, 'both.example.org')).toBe('prefix-wildcard');
    expect(await cnFor(port, 'both.example.net')).toBe('suffix-wildcard');
  });

  test('an unknown name, and a client sending no name, get the default certificate', async () => {
    expect(await cnFor(port, 'unknown.test')).toBe('localhost');
    expect(await cnFor(port, undefined)).toBe('localhost');
  });

  test('an SNI named * catches every unknown name (a client sending none still gets the default)', async () => {
    const star = sni('*', catchAll);
    proxy.applyChanges([event('certificates', 'create', catchAll), event('snis', 'create', star)]);
    await proxy.settled();
    expect(await cnFor(port, 'unknown.test')).toBe('catch-all');
    expect(await cnFor(port, undefined)).toBe('localhost');
    expect(await cnFor(port, 'exact.example.com')).toBe('exact.example.com');
    proxy.applyChanges([event('snis', 'delete', star)]);
    await proxy.settled();
    expect(await cnFor(port, 'unknown.test')).toBe('localhost');
  });
});

describe('RSA and ECDSA pairs', () => {
  test('a client offering only ECDSA signatures gets cert_alt; one offering only RSA gets cert', async () => {
    const ec = await presented(port, 'dual.test', { sigalgs: 'ecdsa_secp256r1_sha256' });
    expect(ec.subject.CN).toBe('dual-ecdsa.test');
    const rsa = await presented(port, 'dual.test', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' });
    expect(rsa.subject.CN).toBe('dual-rsa.test');
  });

  test('over TLS 1.2 the cipher suite chooses: ECDHE-ECDSA gets cert_alt, ECDHE-RSA gets cert', async () => {
    const v12 = { maxVersion: 'TLSv1.2' as const };
    expect(await cnFor(port, 'dual.test', { ...v12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).toBe('dual-ecdsa.test');
    expect(await cnFor(port, 'dual.test', { ...v12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).toBe('dual-rsa.test');
  });
});

describe('rotation without restart', () => {
  test('a certificate created, replaced, then deleted is used for the next handshakes', async () => {
    const name = 'rotate.example.net';
    expect(await cnFor(port, name)).toBe('localhost');
    const first = certificate('rotation-1');
    const entry = sni(name, first);
    proxy.applyChanges([event('certificates', 'create', first), event('snis', 'create', entry)]);
    await proxy.settled();
    expect(await cnFor(port, name)).toBe('rotation-1');
    const replaced = { ...certificate('rotation-2'), id: first.id };
    proxy.applyChanges([event('certificates', 'update', replaced)]);
    await proxy.settled();
    expect(await cnFor(port, name)).toBe('rotation-2');
    proxy.applyChanges([event('snis', 'delete', entry), event('certificates', 'delete', first)]);
    await proxy.settled();
    expect(await cnFor(port, name)).toBe('localhost');
  });

  test('every proxy worker of a node presents a new or replaced certificate from the next handshake on', async () => {
    const p = await freePort();
    const base = snap();
    const node = await startNodeProxy({
      workerProcesses: 2,
      listen: [{ host: '127.0.0.1', port: p, flags: ['ssl'] }],
      snapshot: () => base,
      logger: createLogger('test-sni', 'silent'),
      nodeName: 'sni-test',
      logLevel: 'silent',
      ssl: { cert: [], key: [], prefix },
    });
    try {
      const handshakes = async (name: string) => Promise.all(Array.from({ length: 8 }, () => cnFor(p, name)));
      expect(new Set(await handshakes('exact.example.com'))).toEqual(new Set(['exact.example.com']));
      const fresh = certificate('worker-rotation-1');
      const entry = sni('workers.example.net', fresh);
      node.applyChanges([event('certificates', 'create', fresh), event('snis', 'create', entry)]);
      await node.settled();
      expect(new Set(await handshakes('workers.example.net'))).toEqual(new Set(['worker-rotation-1']));
      node.applyChanges([event('certificates', 'update', { ...certificate('worker-rotation-2'), id: fresh.id })]);
      await node.settled();
      expect(new Set(await handshakes('workers.example.net'))).toEqual(new Set(['worker-rotation-2']));
      node.applyChanges([event('certificates', 'delete', fresh), event('snis', 'delete', entry)]);
      await node.settled();
      expect(new Set(await handshakes('workers.example.net'))).toEqual(new Set(['localhost']));
    } finally {
      await node.stop();
    }
  }, 60_000);
});
