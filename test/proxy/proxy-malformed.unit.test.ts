// Malformed and hostile clients over raw sockets: the proxy answers or drops them, never
// crashes or hangs, and keeps serving well-formed requests afterwards. The desync corpus, with
// Kong's status for each request and the upstream's view, is proxy-smuggling.unit.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, get, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest, type RawAnswer } from '../support/raw-client.ts';

let proxy: ProxyServer;
let port: number;
let up: Upstream_;
let slowUp: Upstream_;

/** Send raw bytes, collect whatever comes back until the server closes or `ms` pass. */
function raw(payload: string | Buffer | (string | Buffer)[], ms = 3000, gapMs = 0): Promise<RawAnswer> {
  return rawRequest(port, payload, ms, gapMs);
}

async function healthy(): Promise<void> {
  const r = await get(`http://127.0.0.1:${port}/ok/ping`);
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  up = await echoServer();
  slowUp = await echoServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('done'));
  });
  const s = service({ port: up.port });
  const s2 = service({ port: slowUp.port });
  proxy = await createProxyServer({
    snapshot: snapshot({ services: [s, s2], routes: [route(s, { paths: ['/ok'] }), route(s2, { paths: ['/upload'] })] }),
    headersTimeout: 1000,
    requestTimeout: 2000,
    maxHeaderSize: 8 * 1024,
  });
  port = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  await slowUp?.close();
});

describe('malformed requests', () => {
  test('garbage request line gets 400', async () => {
    const r = await raw('THIS IS NOT HTTP\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1.1 400/);
    await healthy();
  });

  test('bad Host header: no route, Kong 404 (or 400 from the parser), never a crash', async () => {
    const r = await raw('GET /ok/x HTTP/1.1\r\nHost: bad host\u0001\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1.1 (400|404|200)/);
    const r2 = await raw('GET /ok/x HTTP/1.1\r\n\r\n');
    expect(r2.data).toMatch(/^HTTP\/1.1 400/);
    await healthy();
  });

  test("oversized headers get Kong's 494", async () => {
    const r = await raw(`GET /ok/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(r.data).toMatch(/^HTTP\/1.1 494/);
    await healthy();
  });

  test('invalid chunked encoding gets 400 and closes', async () => {
    const r = await raw('POST /ok/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n');
    expect(r.closed).toBe(true);
    await healthy();
  });

  test('both Content-Length and chunked (smuggling shape) is refused', async () => {
    const r = await raw('POST /ok/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1.1 400/);
    await healthy();
  });

  test('a client trickling its headers is cut off by headersTimeout', async () => {
    const parts = ['GET /ok/x HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-H${i}: v\r\n`)];
    const r = await raw(parts, 8000, 100);
    expect(r.closed).toBe(true);
    expect(r.data).not.toMatch(/^HTTP\/1.1 200/);
    await healthy();
  });

  test('a client that disconnects mid-body does not disturb the proxy', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => raw(['POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n', Buffer.alloc(5000, 1)], 300)),
    );
    expect(results).toHaveLength(10);
    await healthy();
  });

  test('a client that disconnects while the response streams does not disturb the proxy', async () => {
    const r = await raw('GET /ok/x HTTP/1.1\r\nHost: a\r\n\r\n', 1);
    expect(r).toBeDefined();
    await healthy();
  });

  test('many bad requests in a row, then the proxy is still serving', async () => {
    await Promise.all([
      raw('\r\n\r\n\r\n'),
      raw('GET / HTTP/9.9\r\n\r\n'),
      raw('GET /ok HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n'),
      raw(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10])),
      raw('GET /%zz%%/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n'),
    ]);
    await healthy();
  });
});
