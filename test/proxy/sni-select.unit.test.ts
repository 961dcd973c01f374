// The pieces of certificate selection without a listener: reading the server name from a real
// ClientHello (client-hello.ts), Kong's produce_wild_snis (sni-certs.ts), and the lookup order
// over an entity store.
import { describe, expect, test } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { scanClientHello } from '../../src/proxy/client-hello.ts';
import { SniCertificates, wildcardsOf } from '../../src/proxy/sni-certs.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import type { ConfigSnapshot } from '../../src/entities/types.ts';

/** The bytes node's TLS client sends first, for a given server name. */
async function clientHello(servername?: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, rejectUnauthorized: false });
  client.on('error', () => {});
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

describe('scanClientHello', () => {
  test('reads the server name of a real ClientHello, lowercased', async () => {
    expect(scanClientHello(await clientHello('Shop.Example.com'))).toEqual({ done: true, servername: 'shop.example.com' });
  });

  test('a hello without the server_name extension has no name', async () => {
    expect(scanClientHello(await clientHello(undefined))).toEqual({ done: true, servername: undefined });
  });

  test('a partial record asks for more bytes, at any cut', async () => {
    const hello = await clientHello('a.test');
    for (const cut of [1, 3, 5, 40, hello.length - 1]) expect(scanClientHello(hello.subarray(0, cut))).toEqual({ done: false });
  });

  test('bytes that are not a handshake record, and a hello cut inside its own length, give no name', async () => {
    expect(scanClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ done: true, servername: undefined });
    const hello = Buffer.from(await clientHello('a.test'));
    // Claim a record shorter than the hello inside it: the extensions run past its end.
    const short = Buffer.concat([hello.subarray(0, 3), Buffer.from([0, 60]), hello.subarray(5, 65)]);
    expect(scanClientHello(short)).toEqual({ done: true, servername: undefined });
    const garbage = Buffer.concat([Buffer.from([0x16, 3, 1, 0, 20]), Buffer.alloc(20, 0xff)]);
    expect(scanClientHello(garbage)).toEqual({ done: true, servername: undefined });
  });
});

describe("wildcardsOf (Kong's produce_wild_snis)", () => {
  test.each([
    ['www.example.com', '*.example.com', 'www.example.*'],
    ['a.b.example.com', '*.b.example.com', 'a.b.example.*'],
    ['example.com', null, 'example.*'],
    ['localhost', null, null],
    ['*.example.com', '*.example.com', null],
    ['example.*', null, 'example.*'],
  ])('%s → prefix %s, suffix %s', (sni, prefix, suffix) => {
    expect(wildcardsOf(sni)).toEqual({ prefix, suffix });
  });
});

describe('lookup order', () => {
  const cert = (id: string) => ({ id, cert: '', key: '', cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 });
  const sni = (name: string, id: string) => ({ id: `sni-${name}`, name, certificate: { id }, tags: null, created_at: 1, updated_at: 1 });
  const store = new EntityStore();
  const base: ConfigSnapshot = { config_version: 1, services: [], routes: [], consumers: [], plugins: [], upstreams: [], targets: [], keyauth_credentials: [] };
  store.load({ ...base, certificates: ['exact', 'prefix', 'suffix', 'star'].map(cert), snis: [sni('a.example.com', 'exact'), sni('*.example.com', 'prefix'), sni('a.example.*', 'suffix'), sni('*', 'star')] });
  const sel = new SniCertificates(store);

  test('exact, then *.domain, then name.*, then *, and no name means the default', () => {
    expect(sel.certificateFor('a.example.com')).toBe('exact');
    expect(sel.certificateFor('b.example.com')).toBe('prefix');
    expect(sel.certificateFor('a.example.org')).toBe('suffix');
    expect(sel.certificateFor('other.test')).toBe('star');
    expect(sel.certificateFor(undefined)).toBeNull();
  });

  test('an SNI written in capitals matches (server names are case-insensitive)', () => {
    store.apply({ id: 'e0', config_version: 2, channel: 'invalidations', entity: 'snis', op: 'create', entity_id: 'sni-upper', cache_keys: [], data: sni('Upper.Example.NET', 'exact'), node_id: null, at: 0 });
    expect(sel.certificateFor('upper.example.net')).toBe('exact');
  });

  test('a change of the SNIs is seen by the next lookup', () => {
    store.apply({ id: 'e1', config_version: 2, channel: 'invalidations', entity: 'snis', op: 'delete', entity_id: 'sni-*', cache_keys: [], data: null, node_id: null, at: 0 });
    expect(sel.certificateFor('other.test')).toBeNull();
  });
});
