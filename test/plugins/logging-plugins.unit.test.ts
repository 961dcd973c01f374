// file-log and http-log through a real proxy, a real upstream and a real HTTP collector, with
// cases translated from Kong's spec/03-plugins/04-file-log/01-log_spec.lua,
// 02-schema_spec.lua and spec/03-plugins/03-http-log/01-log_spec.lua, 02-schema_spec.lua.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { registry } from '../../src/proxy/metrics-registry.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';
import { eventually, echoServer, get, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

interface Collected {
  headers: http.IncomingHttpHeaders;
  body: unknown;
  method: string;
}

/** A log collector that records what it gets; `failNext` answers 500 to that many posts first. */
async function collector() {
  const got: Collected[] = [];
  const state = { failNext: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (state.failNext > 0) {
        state.failNext--;
        res.writeHead(500).end('busy');
        return;
      }
      got.push({ headers: req.headers, body: JSON.parse(body), method: req.method! });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, state, server, port: (server.address() as AddressInfo).port };
}

let proxy: ProxyServer;
let base: string;
let echo: Upstream_;
let col: Awaited<ReturnType<typeof collector>>;
let dir: string;
const logLines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logLines.push(JSON.parse(s)) });
let deadPort: number;

const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-logs-'));
  echo = await echoServer();
  col = await collector();
  // A port nothing listens on: the collector that is down.
  const tmp = http.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  deadPort = (tmp.address() as AddressInfo).port;
  await new Promise((r) => tmp.close(r));
  const svc = service({ port: echo.port });
  const r = (p: string) => route(svc, { paths: [p] });
  const routes = {
    file: r('/file'),
    custom: r('/custom'),
    reopen: r('/reopen'),
    noreopen: r('/noreopen'),
    nodir: r('/nodir'),
    isdir: r('/isdir'),
    devnull: r('/devnull'),
    http: r('/http'),
    batch: r('/batch'),
    retry: r('/retry'),
    dead: r('/dead'),
  };
  const on = (rt: { id: string }) => ({ route: { id: rt.id } });
  proxy = await createProxyServer({
    logger,
    snapshot: snapshot({
      services: [svc],
      routes: Object.values(routes),
      plugins: [
        plugin('file-log', { path: file('file.log') }, on(routes.file)),
        plugin('file-log', {
          path: file('custom.log'),
          custom_fields_by_lua: { new_field: 'return 123', route: 'return nil', 'nested.keys': 'return 456', 'escape\\.dots': 'return 789', 'nested.escape\\.dots': 'return 135' },
        }, on(routes.custom)),
        plugin('file-log', { path: file('reopen.log'), reopen: true }, on(routes.reopen)),
        plugin('file-log', { path: file('noreopen.log') }, on(routes.noreopen)),
        plugin('file-log', { path: file('missing-dir/x.log') }, on(routes.nodir)),
        plugin('file-log', { path: dir }, on(routes.isdir)),
        plugin('file-log', { path: '/dev/null' }, on(routes.devnull)),
        plugin('http-log', { http_endpoint: `http://bob:secret@127.0.0.1:${col.port}/logs`, headers: { 'X-Team': 'gw' } }, on(routes.http)),
        plugin('http-log', { http_endpoint: `http://127.0.0.1:${col.port}/batch`, queue: { max_batch_size: 3, max_coalescing_delay: 5 } }, on(routes.batch)),
        plugin('http-log', { http_endpoint: `http://127.0.0.1:${col.port}/retry`, method: 'PUT' }, on(routes.retry)),
        plugin('http-log', { http_endpoint: `http://127.0.0.1:${deadPort}/`, queue: { max_entries: 5, max_batch_size: 5, max_coalescing_delay: 0.05, max_retry_time: 0.5, initial_retry_delay: 0.1 } }, on(routes.dead)),
      ],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  await echo?.close();
  col?.server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The JSON lines of a log file (none when it does not exist). */
function lines(p: string): Record<string, any>[] {
  if (!fs.existsSync(p)) return [];
  return fs.readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function entryWith(p: string, uuid: string): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  await eventually(async () => !!(found = lines(p).find((l) => l.request.headers['file-log-uuid'] === uuid)), 5000);
  expect(found, `an entry for ${uuid} in ${p}`).toBeDefined();
  return found!;
}

describe('file-log (spec/03-plugins/04-file-log/01-log_spec.lua)', () => {
  test('logs to file', async () => {
    const res = await get(`${base}/file/status?a=1&a=2&flag`, { headers: { 'file-log-uuid': 'u1', authorization: 'Basic c2VjcmV0' } });
    expect(res.status).toBe(200);
    const e = await entryWith(file('file.log'), 'u1');
    expect(e.client_ip).toBe('127.0.0.1');
    expect(typeof e.request.size).toBe('number');
    expect(typeof e.response.size).toBe('number');
    // Kong's serializer fields
    expect(e.request.method).toBe('GET');
    expect(e.request.uri).toBe('/file/status?a=1&a=2&flag');
    expect(e.request.querystring).toEqual({ a: ['1', '2'], flag: true });
    expect(e.request.headers.authorization).toBe('REDACTED');
    expect(e.response.status).toBe(200);
    expect(e.response.headers['x-upstream']).toBe('yes');
    expect(e.upstream_uri).toBe('/status?a=1&a=2&flag');
    expect(e.upstream_status).toBe('200');
    expect(e.source).toBe('upstream');
    expect(e.route.paths).toEqual(['/file']);
    expect(e.service.port).toBe(echo.port);
    expect(e.tries).toEqual([{ ip: '127.0.0.1', port: echo.port, balancer_latency: 0 }]);
    for (const k of ['kong', 'proxy', 'request', 'receive']) expect(typeof e.latencies[k]).toBe('number');
    expect(Math.abs(e.started_at - Date.now())).toBeLessThan(60_000);
  });

  test('custom log values by lua: logs custom values to file, unsets existing log values', async () => {
    await get(`${base}/custom`, { headers: { 'file-log-uuid': 'u2' } });
    const e = await entryWith(file('custom.log'), 'u2');
    expect(e.new_field).toBe(123);
    expect(e.nested.keys).toBe(456);
    expect(e['escape.dots']).toBe(789);
    expect(e.nested['escape.dots']).toBe(135);
    expect(e.route).toBeUndefined();
  });

  test('reopens file on each request', async () => {
    await get(`${base}/reopen`, { headers: { 'file-log-uuid': 'r1' } });
    await entryWith(file('reopen.log'), 'r1');
    fs.rmSync(file('reopen.log'));
    await get(`${base}/reopen`, { headers: { 'file-log-uuid': 'r2' } });
    await get(`${base}/reopen`, { headers: { 'file-log-uuid': 'r3' } });
    await entryWith(file('reopen.log'), 'r3');
    const ids = lines(file('reopen.log')).map((l) => l.request.headers['file-log-uuid']);
    expect(ids).toEqual(['r2', 'r3']);
  });

  test('logs are lost if reopen = false and file does not exist', async () => {
    await get(`${base}/noreopen`, { headers: { 'file-log-uuid': 'n1' } });
    await entryWith(file('noreopen.log'), 'n1');
    fs.rmSync(file('noreopen.log'));
    expect((await get(`${base}/noreopen`, { headers: { 'file-log-uuid': 'n2' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(file('noreopen.log'))).toBe(false);
  });

  test("does not create log file if directory doesn't exist; the given path is a directory", async () => {
    expect((await get(`${base}/nodir`)).status).toBe(200);
    expect((await get(`${base}/isdir`)).status).toBe(200);
    const msgs = logLines.map((l) => String(l['msg']));
    expect(msgs.some((m) => /\[file-log\] failed to open the file: No such file or directory.*while logging request/.test(m))).toBe(true);
    expect(msgs.some((m) => /\[file-log\] failed to open the file: Is a directory/.test(m))).toBe(true);
    expect(fs.existsSync(file('missing-dir'))).toBe(false);
  });

  test('the given path is a character device file', async () => {
    const before = logLines.length;
    expect((await get(`${base}/devnull`)).status).toBe(200);
    expect(logLines.slice(before).some((l) => String(l['msg']).includes('[file-log] failed'))).toBe(false);
  });
});

describe('file-log schema (spec/03-plugins/04-file-log/02-schema_spec.lua)', () => {
  test('accepts a valid path, refuses one with forbidden characters, requires path', () => {
    expect(validatePluginConfig('file-log', { path: '/tmp/log.txt' })).toMatchObject({ ok: true, config: { reopen: false } });
    expect(validatePluginConfig('file-log', { path: '/tmp/log*.txt' })).toEqual({ ok: false, fields: { path: 'not a valid filename' } });
    expect(validatePluginConfig('file-log', { path: ' /tmp/log.txt' })).toEqual({ ok: false, fields: { path: 'not a valid filename' } });
    expect(validatePluginConfig('file-log', {})).toEqual({ ok: false, fields: { path: 'required field missing' } });
  });

  test('custom_fields_by_lua other than a constant is refused with the key named', () => {
    const r = validatePluginConfig('file-log', { path: '/tmp/x.log', custom_fields_by_lua: { who: 'return kong.request.get_header("x")' } });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toContain('who');
  });
});

describe('http-log (spec/03-plugins/03-http-log/01-log_spec.lua)', () => {
  test('logs to HTTP, with Basic auth from the endpoint user info and custom headers', async () => {
    expect((await get(`${base}/http/x`, { headers: { 'x-id': 'h1' } })).status).toBe(200);
    let hit: Collected | undefined;
    await eventually(async () => !!(hit = col.got.find((g) => (g.body as any)?.request?.headers?.['x-id'] === 'h1')), 5000);
    expect(hit).toBeDefined();
    expect(hit!.method).toBe('POST');
    expect(hit!.headers.authorization).toBe('Basic ' + Buffer.from('bob:secret').toString('base64'));
    expect(hit!.headers['x-team']).toBe('gw');
    expect(hit!.headers['content-type']).toBe('application/json');
    const e = hit!.body as any;
    expect(e.response.status).toBe(200);
    expect(e.upstream_uri).toBe('/x');
    expect(e.client_ip).toBe('127.0.0.1');
  });

  test('batches entries into a JSON array with queue.max_batch_size', async () => {
    await Promise.all([1, 2, 3].map((i) => get(`${base}/batch`, { headers: { 'x-id': `b${i}` } })));
    let hit: Collected | undefined;
    await eventually(async () => !!(hit = col.got.find((g) => Array.isArray(g.body))), 5000);
    expect(hit).toBeDefined();
    const ids = (hit!.body as any[]).map((e) => e.request.headers['x-id']).sort();
    expect(ids).toEqual(['b1', 'b2', 'b3']);
  });

  test('retries a batch the collector refused, with the configured method', async () => {
    col.state.failNext = 2;
    await get(`${base}/retry`, { headers: { 'x-id': 'r1' } });
    let hit: Collected | undefined;
    await eventually(async () => !!(hit = col.got.find((g) => (g.body as any)?.request?.headers?.['x-id'] === 'r1')), 5000);
    expect(hit?.method).toBe('PUT');
    expect(col.state.failNext).toBe(0);
  });

  test('a dead collector: every request is served, the queue stays bounded, drops are counted', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () => get(`${base}/dead`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const dropped = async () => {
      const m = await registry.getSingleMetricAsString('gossamer_log_entries_dropped_total');
      return [...m.matchAll(/reason="(\w+)"} (\d+)/g)].reduce((n, x) => n + Number(x[2]), 0);
    };
    // 30 entries into a queue of 5: at least 20 made room for newer ones; the rest give up
    // after max_retry_time.
    expect(await eventually(async () => (await dropped()) >= 20, 5000)).toBe(true);
    expect(await eventually(async () => (await dropped()) === 30, 10_000)).toBe(true);
  });
});

describe('http-log schema (spec/03-plugins/03-http-log/02-schema_spec.lua)', () => {
  const v = (c: Record<string, unknown>) => validatePluginConfig('http-log', { http_endpoint: 'http://myservice.test/path', ...c });
  test('accepts minimal config with defaults', () => {
    expect(v({})).toMatchObject({ ok: true, config: { method: 'POST', content_type: 'application/json', timeout: 10000, keepalive: 60000, queue: { max_batch_size: 1, max_entries: 10000, max_retry_time: 60 } } });
  });
  test('accepts empty headers with username/password in the http_endpoint', () => {
    expect(v({ http_endpoint: 'http://bob:password@myservice.test/path', headers: {} }).ok).toBe(true);
  });
  test('accepts custom fields by lua', () => {
    expect(v({ custom_fields_by_lua: { foo: 'return "bar"' } }).ok).toBe(true);
  });
  test('does accept allowed headers', () => {
    expect(v({ headers: { 'X-My-Header': '123', 'X-Your-Header': 'abc' } }).ok).toBe(true);
  });
  test('does not accept empty header values', () => {
    expect(v({ headers: { 'X-My-Header': '' } })).toEqual({ ok: false, fields: { headers: 'length must be at least 1' } });
  });
  test('does not accept Host header', () => {
    expect(v({ headers: { 'X-My-Header': '123', Host: 'MyHost' } })).toEqual({ ok: false, fields: { headers: "cannot contain 'Host' header" } });
  });
  test('does not accept Content-Length header', () => {
    expect(v({ headers: { 'coNTEnt-Length': '123' } })).toEqual({ ok: false, fields: { headers: "cannot contain 'Content-Length' header" } });
  });
  test('does not accept Content-Type header', () => {
    expect(v({ headers: { 'coNTEnt-Type': 'bad' } })).toEqual({ ok: false, fields: { headers: "cannot contain 'Content-Type' header" } });
  });
  test("does not accept userinfo in URL and 'Authorization' header", () => {
    const r = v({ http_endpoint: 'http://hi:there@myservice.test/path', headers: { AuthoRIZATion: 'bad' } });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toContain("specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed");
  });
  test('a missing or host-less endpoint is refused with Kong messages', () => {
    expect(validatePluginConfig('http-log', {})).toEqual({ ok: false, fields: { http_endpoint: 'required field missing' } });
    expect(v({ http_endpoint: 'myservice' })).toEqual({ ok: false, fields: { http_endpoint: 'missing scheme in url' } });
  });
});
