// Forwarding through a real proxy to real upstream servers: headers, Kong's error bodies,
// timeouts, retries, configuration changes, streaming and WebSocket upgrades.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../src/db/embedded.ts';
import type { ChangeEvent } from '../../src/entities/types.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, get, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
let up: Upstream_;
let slow: Upstream_;
const closers: (() => Promise<void>)[] = [];

function ev(entity: ChangeEvent['entity'], op: ChangeEvent['op'], data: { id: string } | null, id?: string): ChangeEvent {
  return { id: randomUUID(), config_version: 2, channel: 'invalidations', entity, op, entity_id: id ?? data!.id, cache_keys: [], data, node_id: null, at: Date.now() };
}

beforeAll(async () => {
  up = await echoServer();
  slow = await echoServer((_req, res) => setTimeout(() => res.end('late'), 1500));
  const s = service({ name: 'echo', port: up.port, path: '/base' });
  const sSlow = service({ name: 'slow', port: slow.port, read_timeout: 300, retries: 0 });
  const deadPort = await freePort();
  const sDead = service({ name: 'dead', port: deadPort, retries: 2 });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [s, sSlow, sDead],
      routes: [
        route(s, { name: 'echo', paths: ['/echo'] }),
        route(s, { name: 'keep', paths: ['/keep'], preserve_host: true, strip_path: false }),
        route(sSlow, { paths: ['/slow'] }),
        route(sDead, { paths: ['/dead'] }),
        route(s, { paths: ['/secure'], protocols: ['https'] }),
        route(s, { paths: ['/redirect'], protocols: ['https'], https_redirect_status_code: 301 }),
      ],
    }),
  });
  const a = await proxy.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
  closers.push(() => proxy.close(), () => up.close(), () => slow.close());
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

describe('forwarding', () => {
  test('strips the path, joins the service path, keeps the query and sets Kong headers', async () => {
    const r = await get(`${base}/echo/users?x=1&y=2`, { headers: { 'x-forwarded-for': '10.0.0.1', 'x-custom': 'v' } });
    expect(r.status).toBe(200);
    const e = r.json();
    expect(e.url).toBe('/base/users?x=1&y=2');
    expect(e.headers['x-custom']).toBe('v');
    expect(e.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(e.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(e.headers['x-real-ip']).toBe('127.0.0.1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    expect(e.headers['x-forwarded-host']).toBe('127.0.0.1');
    expect(e.headers['x-forwarded-port']).toBe(base.split(':')[2]);
    expect(e.headers['x-forwarded-path']).toBe('/echo/users');
    expect(e.headers['x-forwarded-prefix']).toBe('/echo');
    expect(e.headers['x-kong-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(r.headers['x-kong-request-id']).toBe(e.headers['x-kong-request-id']);
    expect(r.headers.via).toMatch(/^1\.1 gossamer\//);
    expect(r.headers['x-kong-upstream-latency']).toMatch(/^\d+$/);
    expect(r.headers['x-kong-proxy-latency']).toMatch(/^\d+$/);
    expect(r.headers['x-upstream']).toBe('yes');
  });

  test('preserve_host sends the client Host', async () => {
    const r = await get(`${base}/keep/it`, { headers: { host: 'client.example:9999' } });
    expect(r.json().headers.host).toBe('client.example:9999');
    expect(r.json().url).toBe('/base/keep/it');
  });

  test('request bodies pass through', async () => {
    const r = await get(`${base}/echo/post`, { method: 'POST', body: 'hello body', headers: { 'content-type': 'text/plain' } });
    expect(r.json().body).toBe('hello body');
    expect(r.json().method).toBe('POST');
  });

  test('404 with Kong body and request id', async () => {
    const r = await get(`${base}/nothing-here`);
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('no Route matched with those values');
    expect(r.json().request_id).toBe(r.headers['x-kong-request-id']);
  });

  test('https-only routes over plain HTTP: 426 or the configured redirect, as Kong', async () => {
    const r = await get(`${base}/secure/x`);
    expect(r.status).toBe(426);
    expect(r.json().message).toBe('Please use HTTPS protocol');
    const red = await get(`${base}/redirect/x?a=1`, { headers: { host: 'api.example.com' } });
    expect(red.status).toBe(301);
    expect(red.headers.location).toBe('https://api.example.com/redirect/x?a=1');
  });

  test('504 when the upstream is slower than read_timeout', async () => {
    const r = await get(`${base}/slow`);
    expect(r.status).toBe(504);
    expect(r.json().message).toBe('The upstream server is timed out');
  });

  test('502 when the upstream refuses connections, after the retries', async () => {
    const r = await get(`${base}/dead`);
    expect(r.status).toBe(502);
    expect(r.json().message).toBe('An invalid response was received from the upstream server');
  });

  test('changes apply through applyChanges: a route created, then deleted', async () => {
    const s = service({ port: up.port });
    const r = route(s, { paths: ['/fresh'] });
    proxy.applyChanges([ev('services', 'create', s), ev('routes', 'create', r)]);
    await proxy.settled();
    expect((await get(`${base}/fresh/a`)).json().url).toBe('/a');
    proxy.applyChanges([ev('routes', 'delete', null, r.id)]);
    await proxy.settled();
    expect((await get(`${base}/fresh/a`)).status).toBe(404);
  });
});

describe('retries', () => {
  test('a refused target is retried on the next one', async () => {
    const { upstream, target } = await import('../support/proxy-fixtures.ts');
    const good = await echoServer();
    closers.push(() => good.close());
    const dead = await freePort();
    const u = upstream('retry-pool');
    const s = service({ host: 'retry-pool', retries: 3 });
    proxy.applyChanges([
      ev('upstreams', 'create', u),
      ev('targets', 'create', target(u, `127.0.0.1:${dead}`)),
      ev('targets', 'create', target(u, `127.0.0.1:${good.port}`)),
      ev('services', 'create', s),
      ev('routes', 'create', route(s, { paths: ['/retry'] })),
    ]);
    await proxy.settled();
    for (let i = 0; i < 4; i++) expect((await get(`${base}/retry`)).status).toBe(200);
  });
});

describe('streaming', () => {
  test('100 MB download and upload pass through with flat memory', async () => {
    const MB = 1024 * 1024;
    const chunk = Buffer.alloc(MB, 7);
    const big = await echoServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-length': String(100 * MB) });
        let n = 0;
        const pump = (): void => {
          while (n < 100) {
            n++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else {
        let total = 0;
        req.on('data', (c: Buffer) => (total += c.length));
        req.on('end', () => res.end(String(total)));
      }
    });
    closers.push(() => big.close());
    const s = service({ port: big.port });
    proxy.applyChanges([ev('services', 'create', s), ev('routes', 'create', route(s, { paths: ['/big'] }))]);
    await proxy.settled();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const { request } = await import('undici');
    const down = await request(`${base}/big`);
    let got = 0;
    for await (const c of down.body) got += (c as Buffer).length;
    expect(got).toBe(100 * MB);
    const { Readable } = await import('node:stream');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 100) return void this.push(null);
        sent++;
        this.push(chunk);
      },
    });
    const upRes = await request(`${base}/big`, { method: 'POST', body });
    expect(await upRes.body.text()).toBe(String(100 * MB));
    clearInterval(sample);
    const grownMb = (peak - rssBefore) / MB;
    console.log(`streaming 100MB down+up: RSS before ${(rssBefore / MB).toFixed(0)} MB, peak growth ${grownMb.toFixed(1)} MB`);
    // Proxy, upstream and client share this process: buffering 100 MB anywhere would show here.
    expect(grownMb).toBeLessThan(100);
  });
});

describe('websocket', () => {
  test('an upgrade passes through and both directions flow', async () => {
    const wsUp = http.createServer();
    const socks = new Set<net.Socket>();
    wsUp.on('upgrade', (req, socket: net.Socket) => {
      socks.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Path: ' + req.url + '\r\n\r\n');
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>((r) => wsUp.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => { wsUp.close(() => r()); for (const x of socks) x.destroy(); }));
    const s = service({ port: (wsUp.address() as net.AddressInfo).port });
    proxy.applyChanges([ev('services', 'create', s), ev('routes', 'create', route(s, { paths: ['/ws'] }))]);
    await proxy.settled();
    const port = Number(base.split(':')[2]);
    const sock = net.connect(port, '127.0.0.1');
    sock.write('GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let buf = '';
    await new Promise<void>((resolve) => {
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n') && !buf.includes('echo:')) sock.write('ping');
        if (buf.includes('echo:ping')) resolve();
      });
    });
    sock.destroy();
    expect(buf).toMatch(/^HTTP\/1.1 101/);
    expect(buf.toLowerCase()).toContain('x-path: /chat');
  });

  test('an upgrade refused by a plugin gets the plugin answer and the connection closes', async () => {
    const { plugin } = await import('../support/proxy-fixtures.ts');
    const s = service({ port: up.port });
    const r = route(s, { paths: ['/wsauth'] });
    proxy.applyChanges([ev('services', 'create', s), ev('routes', 'create', r), ev('plugins', 'create', plugin('key-auth', {}, { route: { id: r.id } }))]);
    await proxy.settled();
    const port = Number(base.split(':')[2]);
    const sock = net.connect(port, '127.0.0.1');
    sock.write('GET /wsauth HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let buf = '';
    sock.on('data', (d) => (buf += d.toString()));
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    expect(buf).toMatch(/^HTTP\/1.1 401/);
    expect(buf).toContain('No API key found in request');
  });
});
