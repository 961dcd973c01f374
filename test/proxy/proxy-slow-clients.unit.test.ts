// Slow and abusive clients against a real proxy and real upstreams, bounded by nginx's settings
// (issue #18, item 3): client_header_timeout (slowloris), client_body_timeout (a body trickled
// with long pauses), send_timeout (a client that never reads a large answer), keepalive_timeout
// and keepalive_requests. Every timeout is 1 s here; the default is nginx's (60 s, 75 s).
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { rawRequest } from '../support/raw-client.ts';
import { get, route, service, snapshot } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let port: number;
let upstream: http.Server;
/** Bodies the upstream received whole, and answers it could not finish (the client was cut off). */
const received: number[] = [];
let aborted = 0;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === '/big') {
      // 64 MB, written as fast as the proxy takes it.
      const chunk = Buffer.alloc(1024 * 1024, 97);
      let left = 64;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => {
        if (!res.writableFinished) aborted++;
      });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) });
      pump();
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      received.push(n);
      res.end(`got ${n}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const svc = service({ port: (upstream.address() as AddressInfo).port });
  proxy = await createProxyServer({
    snapshot: snapshot({ services: [svc], routes: [route(svc, { paths: ['/'], strip_path: false })] }),
    headersTimeout: 1000,
    clientBodyTimeout: 1000,
    sendTimeout: 1000,
    keepAliveTimeout: 1000,
    maxRequestsPerSocket: 3,
  });
  port = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

const healthy = async () => expect((await get(`http://127.0.0.1:${port}/ok`)).status).toBe(200);

describe('client_header_timeout', () => {
  test('a head trickled past it is closed without an answer (slowloris)', async () => {
    const parts = ['GET /ok HTTP/1.1\r\n', ...Array.from({ length: 30 }, (_, i) => `X-H${i}: v\r\n`)];
    const r = await rawRequest(port, parts, 6000, 100);
    expect(r.closed).toBe(true);
    expect(r.data).toBe('');
    await healthy();
  });
});

describe('client_body_timeout', () => {
  test('a body that pauses longer than it is closed without an answer, and nothing whole reaches the upstream', async () => {
    const before = received.length;
    const r = await rawRequest(port, ['POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n', 'x'.repeat(10)], 5000);
    expect(r.closed).toBe(true);
    expect(r.data).toBe('');
    expect(received.slice(before).includes(1000)).toBe(false);
    await healthy();
  });

  test('a body trickled for longer than it in total, but never pausing that long, goes through', async () => {
    const parts = ['POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n', ...Array.from({ length: 10 }, () => 'y')];
    // 10 pieces 300 ms apart: 3 s in all, no pause of 1 s.
    const r = await rawRequest(port, parts, 6000, 300);
    expect(r.data).toMatch(/^HTTP\/1.1 200[\s\S]*got 10$/);
  });
});

describe('send_timeout', () => {
  test('a client that never reads a large answer is dropped, and the upstream transfer stops', async () => {
    const before = aborted;
    // Reads nothing for 3 s (send_timeout is 1 s), then everything that is left: a connection
    // the proxy dropped ends early, one it kept would deliver all 64 MB.
    const got = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
      let bytes = 0;
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
        s.pause();
        setTimeout(() => s.resume(), 3000);
      });
      s.on('data', (d: Buffer) => (bytes += d.length));
      s.on('error', () => {});
      s.on('close', () => resolve({ bytes, closed: true }));
      setTimeout(() => {
        s.destroy();
        resolve({ bytes, closed: false });
      }, 15_000);
    });
    expect(got.closed).toBe(true);
    expect(got.bytes).toBeLessThan(64 * 1024 * 1024);
    const closed = got.closed;
    expect(closed).toBe(true);
    await expect.poll(() => aborted, { timeout: 5000 }).toBeGreaterThan(before);
    await healthy();
  });
});

describe('keepalive_timeout and keepalive_requests', () => {
  test('an idle keep-alive connection is closed after keepalive_timeout', async () => {
    const r = await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n', 5000);
    expect(r.data).toMatch(/^HTTP\/1.1 200/);
    expect(r.closed).toBe(true);
  });

  test('the connection closes after keepalive_requests answers', async () => {
    const one = 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n';
    const r = await rawRequest(port, [one, one, one, one], 3000, 100);
    const answers = r.data.match(/HTTP\/1.1 200/g) ?? [];
    expect(answers.length).toBe(3);
    expect(r.data).toMatch(/Connection: close/i);
    // nginx closes after the last one; node's own limit would have answered the 4th with 503
    expect(r.data).not.toMatch(/HTTP\/1.1 503/);
    expect(r.closed).toBe(true);
  });
});
