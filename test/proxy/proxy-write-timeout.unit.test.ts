// The service's write_timeout (nginx proxy_send_timeout): an upstream that stops taking the
// request body gets Kong's 504; a client that is slow to send does not count against it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let port: number;
let echo: Upstream_;
let stuck: net.Server;
const stuckSockets = new Set<net.Socket>();

beforeAll(async () => {
  echo = await echoServer();
  // Reads nothing: once the kernel buffers are full the proxy cannot write any more body.
  stuck = net.createServer((s) => {
    stuckSockets.add(s);
    s.pause();
    s.on('error', () => {});
  });
  await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', () => r()));
  const sStuck = service({ port: (stuck.address() as net.AddressInfo).port, write_timeout: 300, read_timeout: 60_000, retries: 0 });
  const sEcho = service({ port: echo.port, write_timeout: 300, retries: 0 });
  proxy = await createProxyServer({ snapshot: snapshot({ services: [sStuck, sEcho], routes: [route(sStuck, { paths: ['/stuck'] }), route(sEcho, { paths: ['/echo'] })] }) });
  port = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  await echo?.close();
  for (const s of stuckSockets) s.destroy();
  await new Promise<void>((r) => stuck.close(() => r()));
});

/** POST `total` bytes, writing as fast as the proxy takes them, until an answer comes. */
function upload(path: string, total: number, pauseAfterFirstMs = 0): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-length': String(total) } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body });
        req.destroy();
      });
    });
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        const ok = req.write(n === chunk.length ? chunk : chunk.subarray(0, n));
        if (sent === chunk.length && pauseAfterFirstMs > 0) return void setTimeout(pump, pauseAfterFirstMs);
        if (!ok) return void req.once('drain', pump);
      }
      if (sent >= total) req.end();
    };
    pump();
  });
}

test('an upstream that stops reading the body answers 504 with Kong\'s body', async () => {
  const r = await upload('/stuck', 512 * 1024 * 1024);
  expect(r.status).toBe(504);
  expect(JSON.parse(r.body).message).toBe('The upstream server is timed out');
});

test('a client pausing longer than write_timeout between chunks is not an upstream timeout', async () => {
  const r = await upload('/echo', 256 * 1024, 900);
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body).body).toHaveLength(256 * 1024);
});
