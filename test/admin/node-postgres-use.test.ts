// What one node costs Postgres (real node process, real Postgres): GET /status answers
// `database.reachable` from what the node already knows, so a load balancer polling /status of
// every node (every second, 50 nodes) costs no query per poll; and a node holds at most
// pg_pool_size (2) connections under a burst of Admin API writes, one at rest.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDbNode, type DbNode } from '../support/db-nodes.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
let dir: string;
const children: ChildProcess[] = [];
const nodes: DbNode[] = [];

beforeAll(async () => {
  db = await testDatabase('status');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-status-'));
  await startDbNode('s1', db, dir, nodes, children);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function onDatabase<T>(q: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'postgres' });
  await c.connect();
  try {
    return await q(c);
  } finally {
    await c.end();
  }
}

/** The node's connections by application_name ('gossamer s1 sync', 'gossamer s1 admin'). */
const connections = () =>
  onDatabase(async (c) => {
    const { rows } = await c.query(`SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' GROUP BY 1`, [db.database]);
    return Object.fromEntries(rows.map((r) => [r.name as string, r.n as number])) as Record<string, number>;
  });
const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

async function transactions(): Promise<number> {
  const c = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'postgres' });
  await c.connect();
  try {
    const r = await c.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [db.database]);
    return Number(r.rows[0].n);
  } finally {
    await c.end();
  }
}

test('fifty GET /status calls say the database is reachable and cost Postgres no query each', async () => {
  const before = await transactions();
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${nodes[0]!.admin}/status`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { database: { reachable: boolean } };
    expect(body.database).toEqual({ reachable: true });
  }
  // The node's own background work (its cluster_nodes refresh every 3 s, the 5 s poll) is a few
  // transactions at most in the time fifty local calls take; one query per call would be 50.
  expect((await transactions()) - before).toBeLessThan(20);
});

test('a burst of 30 concurrent Admin API writes holds at most pg_pool_size (2) connections, one of them the node\'s own; one at rest', async () => {
  let max = 0;
  let maxSync = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const c = await connections();
      max = Math.max(max, total(c));
      maxSync = Math.max(maxSync, c['gossamer s1 sync'] ?? 0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      fetch(`${nodes[0]!.admin}/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `burst-${i}`, url: 'http://127.0.0.1:9/' }) }).then((r) => r.status),
    ),
  );
  sampling = false;
  await sampler;
  expect(answers.every((s) => s === 201)).toBe(true);
  expect(max).toBeLessThanOrEqual(2);
  expect(maxSync).toBe(1);
  // The Admin API's connection closes after 10 s idle; the node's own stays.
  const end = Date.now() + 20_000;
  let now = await connections();
  while (total(now) !== 1 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    now = await connections();
  }
  expect(now).toEqual({ 'gossamer s1 sync': 1 });
}, 40_000);
