// Malformed and hostile handshakes on an `ssl` listener: garbage bytes, a truncated
// ClientHello, a record claiming more than it sends, a hello that never comes, an unknown or
// non-ASCII server name, a protocol version the server refuses, a renegotiation attempt. Each
// loses only its own connection (or gets the default certificate), and the listener still
// serves HTTPS after every one.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { randomUUID } from 'node:crypto';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { loadProxyTls } from '../../src/proxy/tls-certs.ts';
import { echoServer, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { selfSigned } from '../support/tls-fixtures.ts';

let prefix: string;
let up: Upstream_;
let proxy: ProxyServer;
let port: number;
const s = service({ port: 0 });
const pair = selfSigned('known.example.com');
const certId = randomUUID();

beforeAll(async () => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-tls-bad-'));
  up = await echoServer();
  s.port = up.port;
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [s],
      routes: [route(s, { paths: ['/'] })],
      certificates: [{ id: certId, ...pair, cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 }],
      snis: [{ id: randomUUID(), name: 'known.example.com', certificate: { id: certId }, tags: null, created_at: 1, updated_at: 1 }],
    }),
    tls: loadProxyTls({ cert: [], key: [], prefix }),
    headersTimeout: 1000,
  });
  port = (await proxy.listen(0, '127.0.0.1', true)).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  fs.rmSync(prefix, { recursive: true, force: true });
});

/** An HTTPS request through the listener, naming the known SNI: the listener still serves. */
function stillServes(): Promise<{ status: number; cn: unknown }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/x', servername: 'known.example.com', rejectUnauthorized: false, agent: false }, (res) => {
        const cn = (res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, cn }));
      })
      .on('error', reject);
  });
}

/** Send raw bytes, optionally half-close, and wait for the server to close the connection. */
function rawExchange(bytes: Buffer, opts: { end?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(bytes);
      if (opts.end) sock.end();
    });
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    sock.on('error', () => {});
    sock.on('close', () => resolve(Buffer.concat(got)));
  });
}

async function realHello(servername: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (c) => c.once('data', (d: Buffer) => (resolve(d), c.destroy()))));
  const c = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, rejectUnauthorized: false });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

describe('malformed handshakes', () => {
  test('garbage bytes lose their connection; the listener still serves', async () => {
    await rawExchange(Buffer.from('\x00\x01\x02 this is not TLS \xff\xfe'.repeat(50), 'latin1'));
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a truncated ClientHello followed by the client closing loses its connection', async () => {
    const hello = await realHello('known.example.com');
    await rawExchange(hello.subarray(0, Math.floor(hello.length / 2)), { end: true });
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a record that claims 16 KiB and sends a few bytes is closed when the hello does not come in time', async () => {
    await rawExchange(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00]));
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a connection that never sends a hello is closed', async () => {
    await rawExchange(Buffer.alloc(0));
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a hello whose record is cut inside its extensions gets an alert, not a crash', async () => {
    const hello = Buffer.from(await realHello('known.example.com'));
    hello.writeUInt16BE(60, 3);
    const answer = await rawExchange(hello.subarray(0, 65));
    // OpenSSL answers with a TLS alert record (content type 21) or just closes.
    if (answer.length) expect(answer[0]).toBe(21);
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('an unknown server name gets the default certificate; a name with bytes outside ASCII too', async () => {
    const cn = (name: string) =>
      new Promise<unknown>((resolve, reject) => {
        const c = tls.connect({ host: '127.0.0.1', port, servername: name, rejectUnauthorized: false }, () => {
          resolve(c.getPeerCertificate().subject?.CN);
          c.end();
        });
        c.on('error', reject);
      });
    expect(await cn('unknown.example.org')).toBe('localhost');
    expect(await cn('ünïcode.example.com')).toBe('localhost');
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a client offering only a protocol version the server refuses fails its handshake alone', async () => {
    const attempt = new Promise<string>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'known.example.com', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
        resolve('connected');
        c.end();
      });
      c.on('error', (e) => resolve(`error: ${e.message}`));
    });
    expect(await attempt).toMatch(/^error: /);
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });

  test('a renegotiation attempt over TLS 1.2 does not take the listener down', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'known.example.com', rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
        const started = c.renegotiate({ rejectUnauthorized: false }, (err) => {
          resolve(err ? `refused: ${err.message}` : 'renegotiated');
          c.destroy();
        });
        if (!started) {
          resolve('not started');
          c.destroy();
        }
      });
      c.on('error', (e) => resolve(`refused: ${e.message}`));
      c.on('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('');
    expect(await stillServes()).toEqual({ status: 200, cn: 'known.example.com' });
  });
});
