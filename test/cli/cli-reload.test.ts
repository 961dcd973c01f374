// `gossamer reload`, which the Kong tutorial suggests for "configuration inconsistency": the
// node reads its whole configuration again from its source and its proxy rebuilds from it. A
// traditional node picks up a row changed in Postgres behind its back (no cluster event, so
// nothing else would tell it); a data plane reloads from its control plane, and while none
// answers it says so and keeps serving what it has.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { admin, hybridFixture, nodeLog, proxied, untilNodes, type HybridFixture } from '../support/hybrid.ts';
import { runCli } from '../support/cli.ts';

let fx: HybridFixture;
let cpPort = 0;

beforeAll(async () => {
  fx = await hybridFixture('reload');
  cpPort = await freePort();
});

afterAll(async () => {
  await fx?.close();
});

async function reload(n: SimNode): Promise<void> {
  const r = await runCli(['reload', '-p', n.prefix]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/Gossamer reloaded/);
}

test('a traditional node reloads a route changed in Postgres without a cluster event', async () => {
  const t = await fx.node('t', 'traditional', { controlPlanePort: cpPort });
  await t.start();
  expect((await admin(t, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(t, 'POST', '/services/echo/routes', { name: 'r', paths: ['/before'] })).status).toBe(201);
  await untilNodes('/before served', async () => (await proxied(t, '/before')) === 200, 10_000, [t]);
  const hashBefore = (await admin(t, 'GET', '/status')).body.configuration_hash;

  // Behind the node's back: no cluster_events row, so neither gossip nor the poll brings it.
  const pool = new pg.Pool({ host: fx.db.host, port: fx.db.port, user: fx.db.user, password: fx.db.password, database: fx.db.database, max: 1 });
  try {
    expect((await pool.query("UPDATE routes SET paths = ARRAY['/after'] WHERE name = 'r'")).rowCount).toBe(1);
  } finally {
    await pool.end();
  }
  expect(await proxied(t, '/after')).toBe(404);

  await reload(t);
  await untilNodes('/after served and /before gone', async () => (await proxied(t, '/after')) === 200 && (await proxied(t, '/before')) === 404, 10_000, [t]);
  expect((await admin(t, 'GET', '/status')).body.configuration_hash).not.toBe(hashBefore);
  expect(nodeLog(t)).toMatch(/reload: configuration reloaded from the database/);
  await t.stop();
});

test('a data plane reloads from its control plane, and without one keeps serving and says so', async () => {
  const cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpPort, clusterPort: cpPort });
  const dp = await fx.node('dp', 'data_plane', { controlPlanePort: cpPort });
  await cp.start();
  await dp.start();
  expect((await admin(cp, 'POST', '/services', { name: 'echo-dp', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo-dp/routes', { name: 'dp-r', paths: ['/dp-r'] })).status).toBe(201);
  await untilNodes('the data plane serves /dp-r', async () => (await proxied(dp, '/dp-r')) === 200, 15_000, [cp, dp]);

  await cp.kill();
  await reload(dp);
  await untilNodes('the data plane reports that no control plane answered the reload', async () => /reload: could not read the configuration from/.test(nodeLog(dp)), 40_000, [dp]);
  expect(await proxied(dp, '/dp-r')).toBe(200);

  await cp.start();
  await untilNodes('the data plane is connected again', async () => (await admin(dp, 'GET', '/status')).body.hybrid.control_plane_connected === true, 20_000, [cp, dp]);
  await reload(dp);
  await untilNodes('the data plane reloads from the control plane', async () => /reload: configuration reloaded from cp/.test(nodeLog(dp)), 15_000, [cp, dp]);
  expect(await proxied(dp, '/dp-r')).toBe(200);
});
