// Kong's spec/02-integration/05-proxy/02-router_spec.lua, "Router [..., consistency = ...] at
// startup": a real node (four proxy workers, allow_debug_header = on, as Kong's spec starts
// Kong) on a real Postgres, its routes written through the Admin API. Kong runs the block for
// worker_consistency strict and eventual; Gossamer has no such key (a worker applies each
// change as it arrives), so the block runs once.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { startDbNode, type DbNode } from '../support/db-nodes.ts';
import { echoServer, type Upstream_ } from '../support/proxy-fixtures.ts';
import { until } from '../support/until.ts';

const SPEC = '02-router_spec.lua';
const CONF = 'allow_debug_header = on\nworker_processes = 4\n';
let db: TestDatabase;
let dir: string;
let up: Upstream_;
let node: DbNode;
let serviceName: string;
const children: ChildProcess[] = [];

const stop = async (c: ChildProcess) => {
  if (c.exitCode === null) c.kill('SIGTERM');
  if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
};

beforeAll(async () => {
  db = await testDatabase('router_startup');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-router-'));
  up = await echoServer();
  // Kong's bp.routes:insert before start_kong: the route (and its service) are in the database
  // when the node starts; here a first node writes them and the node under test starts after.
  const writer = await startDbNode('writer', db, dir, [], children);
  serviceName = 'router-startup-service';
  const svc = await post(writer.admin, '/services', { name: serviceName, url: `http://127.0.0.1:${up.port}` });
  await post(writer.admin, '/routes', { methods: ['GET'], protocols: ['http'], strip_path: false, service: { id: svc.id } });
  await stop(writer.child);
  node = await startDbNode('router', db, dir, [writer], children, CONF);
}, 120_000);

afterAll(async () => {
  for (const c of children) await stop(c);
  await up?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function post(admin: string, p: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${admin}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

/** One request on a connection of its own, so the node's workers share them. */
function get(p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(`${node.proxy}${p}`, { agent: false, headers: { 'kong-debug': '1' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/** The node's proxy workers (its node:cluster children). */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(node.child.pid)], { encoding: 'utf8' });
  return out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
}

describe('Router at startup', () => {
  it(`${SPEC}: uses configuration from datastore or declarative_config`, async () => {
    for (let i = 0; i < 1000; i++) {
      const r = await get('/get');
      expect(r.status).toBe(200);
      expect(r.headers['kong-service-name']).toBe(serviceName);
    }
  });

  it(`${SPEC}: #db worker respawn correctly rebuilds router`, async () => {
    await post(node.admin, '/routes', { paths: ['/foo'] });
    const before = workerPids();
    expect(before).toHaveLength(4);
    for (const pid of before) process.kill(pid, 'SIGTERM');
    await until('four new workers', async () => {
      const now = workerPids();
      return now.length === 4 && now.every((p) => !before.includes(p)) ? true : undefined;
    }, 60_000, node.output);
    const r = await until('a respawned worker answering', async () => (await get('/foo').catch(() => undefined)), 30_000, node.output);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).message).toBe('no Service found with those values');
  });

  it(`${SPEC}: #db rebuilds router correctly after passing route with special escape`, async () => {
    await post(node.admin, '/routes', { paths: ['~/delay/(?<delay>[^\\/]+)$'] });
    await post(node.admin, '/routes', { paths: ['/foo'] });
    // Kong's helpers.wait_for_all_config_update: every worker serves the new routes.
    for (let i = 0; i < 20; i++) {
      const r = await get('/foo');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).message).toBe('no Service found with those values');
    }
  });
});
