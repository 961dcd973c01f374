// Two control planes on one Postgres, one data plane that lists only the first. Data planes do
// not follow the events topic, so a change made on the second control plane must reach the
// data plane by that control plane's own push (no control plane relays another's changes).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { admin, hybridFixture, proxied, untilNodes, type HybridFixture } from '../support/hybrid.ts';

let fx: HybridFixture;
let cp1: SimNode;
let cp2: SimNode;
let dp: SimNode;

const until = (what: string, check: () => Promise<boolean>) => untilNodes(what, check, 20_000, [cp1, cp2, dp]);
const hybrid = async (n: SimNode) => (await admin(n, 'GET', '/status')).body.hybrid;

beforeAll(async () => {
  fx = await hybridFixture('hybrid-2cp');
  const cp1Port = await freePort();
  cp1 = await fx.node('cp1', 'control_plane', { controlPlanePort: cp1Port, clusterPort: cp1Port });
  cp2 = await fx.node('cp2', 'control_plane', { controlPlanePort: cp1Port });
  dp = await fx.node('dp', 'data_plane', { controlPlanePort: cp1Port });
  await cp1.start();
  await cp2.start();
  await dp.start();
});

afterAll(async () => {
  await fx?.close();
});

test('a change made on the control plane the data plane did not sync from is pushed to it by that control plane', async () => {
  await until('the data plane synced from cp1', async () => (await hybrid(dp)).source === 'control_plane');
  // Both control planes know the data plane as a live member (cp2 learned it by membership only).
  await until('cp2 sees the data plane alive', async () => {
    const r = await admin(cp2, 'GET', '/cluster/members');
    return r.body.data.some((m: { name: string; status: string }) => m.name === 'dp' && m.status === 'alive');
  });
  const before = await hybrid(dp);
  expect(before.control_plane).toBe('cp1');

  expect((await admin(cp2, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp2, 'POST', '/services/echo/routes', { name: 'via-cp2', paths: ['/via-cp2'] })).status).toBe(201);
  await until('the data plane serves the route made on cp2', async () => (await proxied(dp, '/via-cp2')) === 200);
  // Counted for every pushed event, applied or not: so even if a repair by asking were first,
  // this only passes when cp2 pushed the two events itself.
  await until('the data plane received cp2\'s two events by push', async () => (await hybrid(dp)).stats.pushedEvents >= before.stats.pushedEvents + 2);
  // And cp1 learned them by gossip: its configuration is the data plane's.
  await until('cp1, cp2 and the data plane have one configuration_hash', async () => {
    const h = await Promise.all([cp1, cp2, dp].map(async (n) => (await admin(n, 'GET', '/status')).body.configuration_hash));
    return h[0] === h[1] && h[1] === h[2];
  });
});
