// Real processes: three `gossamer start` nodes on their own embedded Postgres (the simulator's
// harness). The safety-net poll is set to a minute, so anything seen within seconds came by
// gossip or by an event-triggered repair.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SimCluster } from '../../sim/harness/cluster.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { createPool } from '../../src/db/pool.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { adminCall as admin } from '../../sim/harness/admin-call.ts';

let c: SimCluster;
let dir: string;
let upstream: string;

async function status(node: SimNode, p: string): Promise<number> {
  try {
    const r = await fetch(`${node.proxyUrl}${p}`, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.status;
  } catch {
    return 0;
  }
}

async function until(what: string, ok: () => Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function selfState(node: SimNode): Promise<{ config_version: number; config_hash: string | null }> {
  const body = await admin(node, 'GET', '/cluster/members');
  return body.data.find((m: { self: boolean }) => m.self);
}

async function freshHash(): Promise<string> {
  const pool = createPool({ pg_host: '127.0.0.1', pg_port: c.pgPort, pg_user: c.pg.user, pg_password: c.pg.password, pg_database: 'gossamer' });
  try {
    return configHash(await loadSnapshot(pool));
  } finally {
    await pool.end();
  }
}

async function allMatchPostgres(): Promise<void> {
  const fresh = await freshHash();
  await until('every node to announce the config_hash of a fresh build from Postgres', async () => {
    const states = await Promise.all(c.nodes.map(selfState));
    return states.every((s) => s.config_hash === fresh);
  });
}

beforeAll(async () => {
  // A start can fail on a busy shared machine (a port taken between freePort and listen, a
  // /status slower than the harness waits): one retry with fresh ports and a fresh database.
  for (let attempt = 1; ; attempt++) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-events-e2e-'));
    try {
      c = await SimCluster.start({ nodes: 3, dir, config: { db_update_frequency: 60, log_level: 'warn' } });
      break;
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      if (attempt >= 2) throw err;
    }
  }
  if (!(await c.waitFormed())) throw new Error('the cluster did not form');
  upstream = `http://127.0.0.1:${c.upstream.port}`;
  await admin(c.nodes[0]!, 'POST', '/services', { name: 'svc', url: upstream });
}, 180_000);

afterAll(async () => {
  await c?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a route created on A is served by B and C; deleted on A, B stops serving it', async () => {
  const [a, b, cc] = c.nodes as [SimNode, SimNode, SimNode];
  await admin(a, 'POST', '/services/svc/routes', { name: 'hello', paths: ['/hello'] });
  expect(await status(a, '/hello')).toBe(200); // read-your-write on the writing node
  await until('B and C to serve /hello', async () => (await status(b, '/hello')) === 200 && (await status(cc, '/hello')) === 200);
  await admin(a, 'DELETE', '/routes/hello');
  expect(await status(a, '/hello')).toBe(404);
  await until('B to stop serving /hello', async () => (await status(b, '/hello')) === 404);
  await allMatchPostgres();
});

test('concurrent writers on two nodes: every node ends identical to Postgres', async () => {
  const [a, b] = c.nodes as [SimNode, SimNode];
  const writer = async (n: SimNode, tag: string) => {
    for (let i = 0; i < 15; i++) {
      await admin(n, 'POST', '/services/svc/routes', { name: `${tag}-${i}`, paths: [`/${tag}-${i}`] });
      if (i % 3 === 2) await admin(n, 'PATCH', '/services/svc', { retries: i });
      if (i % 5 === 4) await admin(n, 'DELETE', `/routes/${tag}-${i - 1}`);
    }
  };
  await Promise.all([writer(a, 'wa'), writer(b, 'wb')]);
  await allMatchPostgres();
  for (const n of c.nodes) expect(await status(n, '/wb-14')).toBe(200);
});

test('a node cut off from the cluster catches up when the partition heals', async () => {
  const [a, b, cc] = c.nodes as [SimNode, SimNode, SimNode];
  expect(await c.partition([[a.name, b.name], [cc.name]])).toEqual([]);
  // Give the cut a moment to take (connections hung up), then write on the majority side.
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 5; i++) await admin(a, 'POST', '/services/svc/routes', { name: `part-${i}`, paths: [`/part-${i}`] });
  await until('B to serve the new routes', async () => (await status(b, '/part-4')) === 200);
  // No gossip crosses the cut; C keeps up only through Postgres (its degraded-mode poll).
  expect(await c.heal()).toEqual([]);
  await until('C to catch up after the heal', async () => (await status(cc, '/part-0')) === 200 && (await status(cc, '/part-4')) === 200, 10_000);
  await allMatchPostgres();
});

test('Postgres stopped and started during traffic: cached routes keep working, then writes flow again', async () => {
  const [a, b, cc] = c.nodes as [SimNode, SimNode, SimNode];
  await admin(a, 'POST', '/services/svc/routes', { name: 'steady', paths: ['/steady'] });
  await until('every node to serve /steady', async () => (await Promise.all(c.nodes.map((n) => status(n, '/steady')))).every((s) => s === 200));
  let errors = 0;
  let requests = 0;
  let traffic = true;
  const load = (async () => {
    while (traffic) {
      for (const n of c.nodes) {
        requests++;
        if ((await status(n, '/steady')) !== 200) errors++;
      }
    }
  })();
  await c.dbDown();
  await new Promise((r) => setTimeout(r, 2000));
  await c.dbUp();
  await until('a write to succeed again', async () => {
    try {
      await admin(b, 'POST', '/services/svc/routes', { name: 'after-db', paths: ['/after-db'] });
      return true;
    } catch {
      return false;
    }
  }, 30_000);
  await until('every node to serve the route written after the outage', async () => (await status(a, '/after-db')) === 200 && (await status(cc, '/after-db')) === 200);
  traffic = false;
  await load;
  expect(requests).toBeGreaterThan(10);
  expect(errors).toBe(0);
  await allMatchPostgres();
});
