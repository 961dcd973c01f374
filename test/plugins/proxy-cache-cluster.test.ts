// proxy-cache, file-log and http-log on two real `gossamer start` nodes with two proxy workers
// each, on one Postgres: Kong's /proxy-cache Admin API (spec/03-plugins/31-proxy-cache/
// 03-api_spec.lua) answers from every worker, a cached answer is a Hit whichever worker a new
// connection lands on, and a purge on one node empties the other's cache (gossip). file-log's
// file is reopened by `gossamer reload` (log rotation); http-log's drops show in /metrics.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { until } from '../support/until.ts';
import { startDbNode, type DbNode } from '../support/db-nodes.ts';

let db: TestDatabase;
let dir: string;
let upstream: http.Server;
let upstreamPort: number;
let served = 0;
const children: ChildProcess[] = [];
const nodes: DbNode[] = [];

const startNode = (name: string) => startDbNode(name, db, dir, nodes, children);

beforeAll(async () => {
  db = await testDatabase('proxycache');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-pcache-'));
  upstream = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ n: ++served, url: req.url }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  await startNode('pc1');
  await startNode('pc2');
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One request on a connection of its own (so successive ones may land on either worker). */
function fresh(base: string, host: string, p = '/get'): Promise<{ status: number; cache: string | null; key: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${p}`, { headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const h = (n: string) => (res.headers[n] as string | undefined) ?? null;
        resolve({ status: res.statusCode!, cache: h('x-cache-status'), key: h('x-cache-key'), body });
      });
    });
    req.on('error', reject);
  });
}

const post = async (base: string, url: string, body: Record<string, unknown>) => {
  const r = await fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await r.json();
  expect(r.status, `${url}: ${JSON.stringify(json)}`).toBe(201);
  return json as { id: string };
};

test('proxy-cache: Hit on every worker, the Admin API sees every worker, a purge reaches the other node', { timeout: 120_000 }, async () => {
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  await post(a.admin, '/services', { name: 'up', url: `http://127.0.0.1:${upstreamPort}` });
  const route = await post(a.admin, '/services/up/routes', { name: 'cached', hosts: ['cache.test'] });
  const plugin = await post(a.admin, '/routes/cached/plugins', { name: 'proxy-cache', config: { strategy: 'memory' } });
  for (const n of nodes) await until('the route on every node', async () => ((await fresh(n.proxy, 'cache.test')).cache ? true : undefined), 20_000, n.output);
  await fetch(`${a.admin}/proxy-cache`, { method: 'DELETE' });
  await until('the flush on every node', async () => ((await fresh(b.proxy, 'cache.test', '/flushed')).cache === 'Miss' ? true : undefined), 10_000);

  const first = await fresh(a.proxy, 'cache.test', '/x');
  expect(first.cache).toBe('Miss');
  const key = first.key!;
  // The worker that stored it hands a copy to the other: wait for it, then every new connection hits.
  // (A request that reached the other worker before the copy is a Miss there, and its answer
  // replaces the first in both: what matters is that both workers end up with the same one.)
  let cachedBody = '';
  await until('the copy in the other worker', async () => {
    const both = await Promise.all([1, 2, 3, 4].map(() => fresh(a.proxy, 'cache.test', '/x')));
    cachedBody = both[0]!.body;
    return both.every((r) => r.cache === 'Hit' && r.body === cachedBody) ? true : undefined;
  }, 10_000);

  // (spec 03-api_spec.lua "get a existing cache")
  const got = await fetch(`${a.admin}/proxy-cache/${plugin.id}/caches/${key}`);
  expect(got.status).toBe(200);
  const entry = (await got.json()) as { headers: Record<string, string>; body: string; status: number };
  expect(entry.headers['X-Cache-Key']).toBe(key);
  expect(entry.body).toBe(cachedBody);
  expect((await fetch(`${a.admin}/proxy-cache/${key}`)).status).toBe(200);

  // The other node has its own cache: fill it, then purge on the first node.
  expect((await fresh(b.proxy, 'cache.test', '/x')).cache).toBe('Miss');
  await until('a Hit on the second node', async () => ((await fresh(b.proxy, 'cache.test', '/x')).cache === 'Hit' ? true : undefined), 10_000);
  expect((await fetch(`${a.admin}/proxy-cache/${plugin.id}/caches/${key}`, { method: 'DELETE' })).status).toBe(204);
  expect((await fetch(`${a.admin}/proxy-cache/${key}`)).status).toBe(404);
  await until('the purge on the second node', async () => ((await fetch(`${b.admin}/proxy-cache/${key}`)).status === 404 ? true : undefined), 10_000);
  expect((await fresh(b.proxy, 'cache.test', '/x')).cache).toBe('Miss');

  // (spec: "delete a non-existing cache key", "delete a non-existing plugins's cache key", "get a non-existing cache")
  expect((await fetch(`${a.admin}/proxy-cache`, { method: 'DELETE' })).status).toBe(204);
  expect((await fetch(`${a.admin}/proxy-cache/${plugin.id}/caches/123`, { method: 'DELETE' })).status).toBe(404);
  expect((await fetch(`${a.admin}/proxy-cache/${route.id}/caches/123`, { method: 'DELETE' })).status).toBe(404);
  expect((await fetch(`${a.admin}/proxy-cache/${plugin.id}/caches/${key}`)).status).toBe(404);
  expect((await fetch(`${a.admin}/proxy-cache/${key}`)).status).toBe(404);
});

test('file-log: `gossamer reload` reopens a rotated file; http-log: drops to a dead collector are counted in /metrics', { timeout: 60_000 }, async () => {
  const a = nodes[0]!;
  const logFile = path.join(dir, 'access.log');
  await post(a.admin, '/services/up/routes', { name: 'logged', hosts: ['log.test'] });
  await post(a.admin, '/routes/logged/plugins', { name: 'file-log', config: { path: logFile } });
  const dead = await freePort();
  await post(a.admin, '/routes/logged/plugins', { name: 'http-log', config: { http_endpoint: `http://127.0.0.1:${dead}/`, queue: { max_entries: 2, max_retry_time: 0.2 } } });
  await until('the first line', async () => {
    await fresh(a.proxy, 'log.test', '/one');
    return fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('/one') ? true : undefined;
  }, 20_000);
  fs.renameSync(logFile, `${logFile}.1`);
  a.child.kill('SIGHUP');
  await until('the reload', async () => (a.output().includes('reload: configuration reloaded') ? true : undefined), 20_000, a.output);
  // The primary has handed the reloaded configuration to both workers; give them a moment to rebuild.
  await new Promise((r) => setTimeout(r, 500));
  await until('a line in the new file', async () => {
    await fresh(a.proxy, 'log.test', '/two');
    return fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('/two') ? true : undefined;
  }, 20_000, a.output);
  const line = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.request.uri === '/two');
  expect(line.response.status).toBe(200);
  // The rotated file is no longer written to once every worker reloaded.
  const rotated = fs.readFileSync(`${logFile}.1`, 'utf8');
  await fresh(a.proxy, 'log.test', '/three');
  await fresh(a.proxy, 'log.test', '/three');
  await until('/three in the new file', async () => (fs.readFileSync(logFile, 'utf8').includes('/three') ? true : undefined), 5000);
  expect(fs.readFileSync(`${logFile}.1`, 'utf8')).toBe(rotated);
  await until('dropped entries in /metrics', async () => {
    const m = await (await fetch(`${a.admin}/metrics`)).text();
    return /gossamer_log_entries_dropped_total\{plugin="http-log",reason="\w+"\} [1-9]/.test(m) ? true : undefined;
  }, 20_000);
});
