// GET /status on a node with a database answers `database.reachable` from what its configuration
// part already knows of Postgres: a load balancer polling /status of every node (every second,
// 50 nodes) must not cost Postgres a query per poll. Real node process, real Postgres.
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
