// HTTP/1.1 pipelining (issue #18: abusive clients): requests pipelined on one connection are
// proxied one at a time, as nginx does, and a connection holds at most MAX_WAITING of them behind
// the one in progress. The upstream, a real node:http server, records how many requests it holds
// at once; it answers each after a pause so overlapping requests would show there.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { MAX_WAITING } from '../../src/proxy/one-at-a-time.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { route, service, snapshot } from '../support/proxy-fixtures.ts';
import { rawRequest, statusesOf } from '../support/raw-client.ts';

let proxy: ProxyServer;
let port: number;
let upstream: http.Server;
let inFlight = 0;
let mostAtOnce = 0;
let paths: string[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    inFlight++;
    mostAtOnce = Math.max(mostAtOnce, inFlight);
    paths.push(req.url ?? '');
    setTimeout(() => {
      inFlight--;
      res.end(`answer ${req.url}`);
    }, 5);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const s = service({ port: (upstream.address() as AddressInfo).port });
  proxy = await createProxyServer({ snapshot: snapshot({ services: [s], routes: [route(s, { paths: ['/p'] })] }) });
  port = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => upstream?.close(r));
});

beforeEach(() => {
  mostAtOnce = 0;
  paths = [];
});

const pipelined = (n: number): string => Array.from({ length: n }, (_, i) => `GET /p/${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');

describe('pipelined requests', () => {
  test('are answered in order and reach the upstream one at a time', async () => {
    const r = await rawRequest(port, pipelined(8), 1500);
    expect(statusesOf(r.data)).toEqual(Array(8).fill(200));
    expect([...r.data.matchAll(/answer \/(\d+)/g)].map((m) => Number(m[1]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(mostAtOnce).toBe(1);
    expect(r.closed).toBe(false);
  });

  test('two connections are served side by side', async () => {
    const [a, b] = await Promise.all([rawRequest(port, pipelined(6), 1500), rawRequest(port, pipelined(6), 1500)]);
    expect(statusesOf(a.data).length + statusesOf(b.data).length).toBe(12);
    expect(mostAtOnce).toBe(2);
  });

  test(`a connection keeps ${MAX_WAITING} waiting requests: the last is answered with Connection: close, the rest never reach the upstream`, async () => {
    const r = await rawRequest(port, pipelined(200), 5000);
    const kept = MAX_WAITING + 1;
    expect(statusesOf(r.data)).toEqual(Array(kept).fill(200));
    expect(r.closed).toBe(true);
    const heads = r.data.split('HTTP/1.1 ').slice(1);
    expect(heads.at(-1)).toMatch(/\r\nconnection: close\r\n/i);
    expect(heads[0]).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(paths).toEqual(Array.from({ length: kept }, (_, i) => `/${i}`));
    expect(mostAtOnce).toBe(1);

    // The node keeps serving new connections.
    const ok = await rawRequest(port, 'GET /p/again HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(statusesOf(ok.data)).toEqual([200]);
  });

  test('a client that closes with requests still waiting: they are dropped, not proxied', async () => {
    await rawRequest(port, pipelined(20), 2); // gone almost at once
    await new Promise((r) => setTimeout(r, 300));
    expect(paths.length).toBeLessThan(20);
    expect(inFlight).toBe(0);
  });
});
