// HTTP/2 on proxy_listen entries with the `http2` flag: h2 by ALPN over TLS (http/1.1 still
// offered), h2c with prior knowledge on a plain listener, and the same routing, plugin answers
// and error bodies as over HTTP/1.1; the upstream stays HTTP/1.1. Real node:http2 and https
// clients against an in-process proxy and a real upstream.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { selfSigned } from '../support/tls-fixtures.ts';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { startNodeProxy, type NodeProxy } from '../../src/proxy/node-proxy.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/log.ts';
import { loadProxyTls } from '../../src/proxy/tls-certs.ts';
import { VIA, VIA_H2 } from '../../src/proxy/version.ts';
import { consumer, echoServer, get, keyauth, plugin, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';

let prefix: string;
let up: Upstream_;
let proxy: ProxyServer;
let plainPort: number;
let tlsH2Port: number;
let h2cPort: number;
let tlsH1OnlyPort: number;
const s = service({ port: 0 });
const closed = route(s, { paths: ['/closed'] });
const terminated = route(s, { paths: ['/terminated'] });
const alice = consumer('alice');
const h2cert = selfSigned('h2.example.test');
const h2certificate = { id: randomUUID(), cert: h2cert.cert, key: h2cert.key, cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 };

interface H2Res {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh HTTP/2 session (TLS when the authority is https://). */
function h2request(authority: string, p: string, headers: http2.OutgoingHttpHeaders = {}, body?: string): Promise<H2Res & { alpn: string | false | null | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority, { rejectUnauthorized: false });
    session.on('error', reject);
    const req = session.request({ ':path': p, ':method': body === undefined ? 'GET' : 'POST', ...headers });
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => (data += c));
    req.on('end', () => {
      const alpn = (session.socket as tls.TLSSocket).alpnProtocol;
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: data, alpn });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function alpnOf(port: number, offered: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: offered }, () => {
      const p = socket.alpnProtocol ?? false;
      socket.destroy();
      resolve(p);
    });
    socket.on('error', reject);
  });
}

function httpsGet(port: number, p: string): Promise<H2Res> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** A Kong error body with its request id blanked: the same text over either protocol. */
const sameShape = (body: string) => body.replace(/"request_id":"[^"]*"/, '"request_id":""');

beforeAll(async () => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-h2-'));
  up = await echoServer();
  s.port = up.port;
  proxy = await createProxyServer({
    tls: loadProxyTls({ cert: [], key: [], prefix }),
    snapshot: snapshot({
      services: [s],
      routes: [route(s, { paths: ['/echo'] }), closed, terminated, route(s, { paths: ['/blocked'], protocols: ['https'] }), route(s, { paths: ['/by-header'], headers: { 'x-version': ['v2'] } })],
      plugins: [
        plugin('key-auth', { key_names: ['apikey'] }, { route: { id: closed.id } }),
        plugin('request-termination', { status_code: 403, message: 'So long and thanks for all the fish!' }, { route: { id: terminated.id } }),
      ],
      consumers: [alice],
      keyauth_credentials: [keyauth(alice, 'secret')],
      certificates: [h2certificate],
      snis: [{ id: randomUUID(), name: 'h2.example.test', certificate: { id: h2certificate.id }, tags: null, created_at: 1, updated_at: 1 }],
    }),
  });
  plainPort = (await proxy.listen(0, '127.0.0.1')).port;
  tlsH2Port = (await proxy.listen(0, '127.0.0.1', true, { http2: true })).port;
  h2cPort = (await proxy.listen(0, '127.0.0.1', false, { http2: true })).port;
  tlsH1OnlyPort = (await proxy.listen(0, '127.0.0.1', true)).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  if (prefix) fs.rmSync(prefix, { recursive: true, force: true });
});

describe('ALPN on ssl listeners', () => {
  test('an `ssl http2` listener chooses h2 when offered and still serves http/1.1', async () => {
    expect(await alpnOf(tlsH2Port, ['h2', 'http/1.1'])).toBe('h2');
    expect(await alpnOf(tlsH2Port, ['http/1.1'])).toBe('http/1.1');
    const viaH1 = await httpsGet(tlsH2Port, '/echo/h1');
    expect(viaH1.status).toBe(200);
    expect((JSON.parse(viaH1.body) as Echo).url).toBe('/h1');
  });

  test("SNI still chooses the certificate: an snis entity's name gets its certificate over h2", async () => {
    const cn = await new Promise<string>((resolve, reject) => {
      const session = http2.connect(`https://127.0.0.1:${tlsH2Port}`, { rejectUnauthorized: false, servername: 'h2.example.test' });
      session.on('error', reject);
      session.on('connect', () => {
        const socket = session.socket as tls.TLSSocket;
        resolve(`${socket.alpnProtocol} ${String(socket.getPeerCertificate().subject.CN)}`);
        session.close();
      });
    });
    expect(cn).toBe('h2 h2.example.test');
  });

  test('an `ssl` listener without http2 does not offer h2', async () => {
    expect(await alpnOf(tlsH1OnlyPort, ['h2', 'http/1.1'])).toBe('http/1.1');
  });
});

describe('requests over h2', () => {
  test('routes as HTTP/1.1 does; the upstream gets HTTP/1.1 with the Host and X-Forwarded headers', async () => {
    const r = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/echo/a?x=1', { ':authority': 'api.example' });
    expect(r.alpn).toBe('h2');
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe('yes');
    // 35-via_spec.lua, "HTTP/2 in both the inbound and outbound directions": the upstream
    // gets `2 ...` (the client's hop), the client `1.1 ...` (the upstream's).
    expect(r.headers.via).toBe(VIA);
    const echo = JSON.parse(r.body) as Echo;
    expect(echo.url).toBe('/a?x=1');
    expect(echo.headers.via).toBe(VIA_H2);
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(echo.headers['x-forwarded-host']).toBe('api.example');
    expect(Object.keys(echo.headers).some((k) => k.startsWith(':'))).toBe(false);
  });

  test('a request body without content-length reaches the HTTP/1.1 upstream whole', async () => {
    const r = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/echo/post', {}, 'x'.repeat(100_000));
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Echo).body.length).toBe(100_000);
  });

  test('no route: the same 404 body as over HTTP/1.1', async () => {
    const h2 = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/nowhere');
    const h1 = await get(`http://127.0.0.1:${plainPort}/nowhere`);
    expect(h2.status).toBe(404);
    expect(h2.headers['content-type']).toBe(h1.headers['content-type']);
    expect(sameShape(h2.body)).toBe(sameShape(h1.text));
    expect(JSON.parse(h2.body).message).toBe('no Route matched with those values');
  });

  test('key-auth answers h2 clients as HTTP/1.1 ones (401 without a key, 200 with it)', async () => {
    const h2 = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/closed');
    const h1 = await get(`http://127.0.0.1:${plainPort}/closed`);
    expect(h2.status).toBe(401);
    expect(h2.headers['www-authenticate']).toBe(h1.headers['www-authenticate']);
    expect(sameShape(h2.body)).toBe(sameShape(h1.text));
    const ok = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/closed', { apikey: 'secret' });
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as Echo).headers['x-consumer-username']).toBe('alice');
  });
});

test("a route matching on headers routes h2 requests by them (node's Http2ServerRequest has no headersDistinct)", async () => {
  const matched = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/by-header', { 'x-version': 'v2' });
  expect(matched.status).toBe(200);
  const other = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/by-header', { 'x-version': 'v1' });
  expect(other.status).toBe(404);
});

test('request-termination answers h2 clients with the same status and body', async () => {
  const h2 = await h2request(`https://127.0.0.1:${tlsH2Port}`, '/terminated');
  const h1 = await get(`http://127.0.0.1:${plainPort}/terminated`);
  expect(h2.status).toBe(403);
  expect(h2.headers['content-type']).toBe(h1.headers['content-type']);
  expect(sameShape(h2.body)).toBe(sameShape(h1.text));
  expect(JSON.parse(h2.body).message).toBe('So long and thanks for all the fish!');
});

describe('h2c with prior knowledge on a plain `http2` listener', () => {
  test('HTTP/2 and HTTP/1.1 on the same port', async () => {
    const r = await h2request(`http://127.0.0.1:${h2cPort}`, '/echo/c');
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Echo).headers['x-forwarded-proto']).toBe('http');
    const h1 = await get(`http://127.0.0.1:${h2cPort}/echo/c`);
    expect(h1.status).toBe(200);
  });

  test("an https-only route reached over h2c: Kong's 426 body", async () => {
    const r = await h2request(`http://127.0.0.1:${h2cPort}`, '/blocked');
    expect(r.status).toBe(426);
    expect(JSON.parse(r.body).message).toBe('Please use HTTPS protocol');
  });
});

/** Writes `bytes` on a new TCP connection and resolves once the proxy closes it. */
function sendRaw(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', () => {});
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

test('garbage after the HTTP/2 preface, and a stream reset mid-body, lose only their own connection or stream', async () => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  await sendRaw(h2cPort, Buffer.concat([preface, Buffer.from('this is not a frame at all, not even close')]));
  const session = http2.connect(`https://127.0.0.1:${tlsH2Port}`, { rejectUnauthorized: false });
  const req = session.request({ ':path': '/echo/reset', ':method': 'POST' });
  req.on('error', () => {});
  req.write('partial body');
  req.close(http2.constants.NGHTTP2_CANCEL);
  // The same session still carries requests, and new connections are served.
  const again = await new Promise<number>((resolve, reject) => {
    const r = session.request({ ':path': '/echo/after' });
    r.on('response', (h) => resolve(Number(h[':status'])));
    r.on('error', reject);
    r.end();
  });
  session.close();
  expect(again).toBe(200);
  expect((await h2request(`http://127.0.0.1:${h2cPort}`, '/echo/after')).status).toBe(200);
});

test('an HTTP/2 connection without streams for keepalive_timeout is closed, one with a stream open is not', async () => {
  const slow = await echoServer((_req, res) => setTimeout(() => res.end('late'), 600));
  const svc = service({ port: slow.port });
  const short = await createProxyServer({ keepAliveTimeout: 300, snapshot: snapshot({ services: [s, svc], routes: [route(s, { paths: ['/echo'] }), route(svc, { paths: ['/slow'] })] }) });
  try {
    const port = (await short.listen(0, '127.0.0.1', false, { http2: true })).port;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    // A stream open longer than the idle time keeps the session...
    const body = await new Promise<string>((resolve, reject) => {
      let data = '';
      const r = session.request({ ':path': '/slow' });
      r.on('data', (c: Buffer) => (data += c));
      r.on('end', () => resolve(data));
      r.on('error', reject);
      r.end();
    });
    expect(body).toBe('late');
    // ...and once idle, the proxy closes it.
    await closed;
    expect(session.closed || session.destroyed).toBe(true);
  } finally {
    await short.close();
    await slow.close();
  }
});

describe('proxy workers', () => {
  let node: NodeProxy | null = null;
  afterAll(async () => {
    await node?.stop();
  });

  test("proxy_listen entries with the http2 flag: h2 by ALPN on `ssl http2`, h2c on `http2`, in real workers", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    node = await startNodeProxy({
      workerProcesses: 1,
      listen: [
        { host: '127.0.0.1', port: p1, flags: ['ssl', 'http2'] },
        { host: '127.0.0.1', port: p2, flags: ['http2'] },
      ],
      snapshot: () => snapshot({ services: [s], routes: [route(s, { paths: ['/echo'] })] }),
      logger: createLogger('test-h2', 'silent'),
      nodeName: 'h2-test',
      logLevel: 'silent',
      ssl: { cert: [], key: [], prefix },
    });
    const viaTls = await h2request(`https://127.0.0.1:${p1}`, '/echo/w');
    expect(viaTls.alpn).toBe('h2');
    expect(viaTls.status).toBe(200);
    expect((JSON.parse(viaTls.body) as Echo).url).toBe('/w');
    expect((await h2request(`http://127.0.0.1:${p2}`, '/echo/w')).status).toBe(200);
    expect((await get(`http://127.0.0.1:${p2}/echo/w`)).status).toBe(200);
  }, 60_000);
});
