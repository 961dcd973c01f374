// Hybrid mode end to end, with real processes: one control plane on a real Postgres and two
// data planes (database = off) that get their configuration over libp2p, keep serving when
// the control plane is SIGKILLed, restart from their level cache, catch up with a change
// made in Postgres meanwhile, refuse a data plane holding another cluster certificate, and
// ignore a corrupt cache with a warning.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { insertEntity } from '../../src/db/write.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { admin, hybridFixture, nodeLog as log, proxied as get, untilNodes as until, type HybridFixture } from '../support/hybrid.ts';

let fx: HybridFixture;
let cp: SimNode;
let dp1: SimNode;
let dp2: SimNode;
let cpClusterPort = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  fx = await hybridFixture('hybrid', ['certs', 'other-certs']);
  cpClusterPort = await freePort();
  cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpClusterPort, clusterPort: cpClusterPort });
  dp1 = await fx.node('dp1', 'data_plane', { controlPlanePort: cpClusterPort });
  dp2 = await fx.node('dp2', 'data_plane', { controlPlanePort: cpClusterPort });
  await cp.start();
  await Promise.all([dp1.start(), dp2.start()]);
});

afterAll(async () => {
  await fx?.close();
});

test('a route created on the control plane is served by both data planes; data planes are read-only and visible', async () => {
  await until('both data planes synced from the control plane', async () => {
    const s = await Promise.all([dp1, dp2].map(async (n) => (await admin(n, 'GET', '/status')).body.hybrid.source));
    return s.every((x) => x === 'control_plane');
  }, 30_000, [cp, dp1, dp2]);
  expect((await admin(cp, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo/routes', { name: 'r1', paths: ['/r1'] })).status).toBe(201);
  await until('both data planes serve /r1', async () => (await get(dp1, '/r1')) === 200 && (await get(dp2, '/r1')) === 200, 15_000, [cp, dp1, dp2]);
  // The change came as an event pushed by the control plane, not in a snapshot.
  for (const n of [dp1, dp2]) {
    const stats = (await admin(n, 'GET', '/status')).body.hybrid.stats;
    expect(stats.pushedEvents, n.name).toBeGreaterThanOrEqual(1);
  }

  // A data plane's Admin API refuses writes and answers reads from its synced configuration.
  const w = await admin(dp1, 'POST', '/services', { name: 'nope', url: fx.echo.url });
  expect(w.status).toBe(400);
  expect(w.body.message).toMatch(/data plane/);
  expect((await admin(dp1, 'GET', '/routes/r1')).body.paths).toEqual(['/r1']);
  expect((await admin(dp1, 'GET', '/clustering/data-planes')).status).toBe(400);

  // Same configuration everywhere: /status carries Kong's configuration_hash.
  const cpHash = (await admin(cp, 'GET', '/status')).body.configuration_hash;
  await until('data planes report the control plane hash', async () => {
    const h = await Promise.all([dp1, dp2].map(async (n) => (await admin(n, 'GET', '/status')).body.configuration_hash));
    return h.every((x) => x === cpHash);
  });
  await until('/clustering/data-planes lists both, in sync', async () => {
    const r = await admin(cp, 'GET', '/clustering/data-planes');
    const names = (r.body.data as { name: string; config_hash: string; sync_status: string }[]).filter((d) => d.config_hash === cpHash && d.sync_status === 'normal').map((d) => d.name);
    return r.body.next === null && names.includes('dp1') && names.includes('dp2');
  });
  const dps = (await admin(cp, 'GET', '/clustering/data-planes')).body.data as Record<string, unknown>[];
  for (const k of ['id', 'ip', 'hostname', 'version', 'config_hash', 'last_seen', 'sync_status']) expect(dps[0]).toHaveProperty(k);
  const members = (await admin(cp, 'GET', '/cluster/members')).body.data as { name: string; role: string }[];
  expect(members.filter((m) => m.role === 'data_plane').map((m) => m.name).sort()).toEqual(['dp1', 'dp2']);
  expect(Object.keys((await admin(cp, 'GET', '/clustering/status')).body)).toHaveLength(2);
});

test('a data plane with another cluster certificate is refused, with a log line on both sides', async () => {
  const stranger = await fx.node('dp-stranger', 'data_plane', { controlPlanePort: cpClusterPort, certDir: 'other-certs' });
  await stranger.start();
  await until('the stranger logs the key mismatch', async () => log(stranger).includes('peer does not share the cluster key'), 15_000, [stranger]);
  await until('the control plane logs the refusal', async () => /refused a connection from .*does not share the cluster key/.test(log(cp)), 15_000, [cp]);
  expect(await get(stranger, '/r1')).toBe(404);
  const members = (await admin(cp, 'GET', '/cluster/members')).body.data as { name: string }[];
  expect(members.map((m) => m.name)).not.toContain('dp-stranger');
  await stranger.kill();
});

test('control plane SIGKILLed: data planes keep serving, restart from their cache, ignore a corrupt one, and catch up when it returns', async () => {
  await cp.kill();
  // Traffic through both data planes over the outage: nothing fails.
  let failed = 0;
  for (let i = 0; i < 30; i++) {
    for (const n of [dp1, dp2]) if ((await get(n, '/r1')) !== 200) failed++;
    await sleep(50);
  }
  expect(failed).toBe(0);

  // dp1 crashes and restarts while no control plane is up: it serves from level at once.
  await dp1.kill();
  await dp1.start();
  expect(await get(dp1, '/r1')).toBe(200);
  expect(log(dp1)).toMatch(/loaded the cached configuration/);

  // dp2's cache is truncated (a disk that lost the tail of every file): it warns, serves
  // nothing from it, and waits for a control plane.
  await dp2.stop();
  const cacheDir = path.join(dp2.prefix, 'dp-cache');
  for (const f of fs.readdirSync(cacheDir)) if (/\.(log|ldb)$/.test(f)) fs.truncateSync(path.join(cacheDir, f), 7);
  await dp2.start();
  await until('dp2 warns about its cache', async () => /data-plane cache .* corrupt/.test(log(dp2)), 5000, [dp2]);
  expect(await get(dp2, '/r1')).toBe(404);

  // Meanwhile a change lands in Postgres (another control plane, or a restore).
  const pool = new pg.Pool({ host: fx.db.host, port: fx.db.port, user: fx.db.user, password: fx.db.password, database: fx.db.database, max: 1 });
  try {
    const svc = await pool.query("SELECT id FROM services WHERE name = 'echo'");
    await insertEntity(pool, 'routes', { name: 'r2', paths: ['/r2'], service: { id: svc.rows[0].id } });
  } finally {
    await pool.end();
  }

  await cp.start();
  await until('both data planes serve the route made during the outage', async () => (await get(dp1, '/r2')) === 200 && (await get(dp2, '/r2')) === 200 && (await get(dp2, '/r1')) === 200, 20_000, [cp, dp1, dp2]);
  const cpHash = (await admin(cp, 'GET', '/status')).body.configuration_hash;
  await until('data planes converge on the control plane hash', async () => {
    const h = await Promise.all([dp1, dp2].map(async (n) => (await admin(n, 'GET', '/status')).body.configuration_hash));
    return h.every((x) => x === cpHash);
  });
});
