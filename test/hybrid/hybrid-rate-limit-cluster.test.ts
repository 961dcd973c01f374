// Rate limiting with policy = cluster between data planes, which share no database (Kong refuses
// `cluster` in hybrid mode): two data planes of one control plane count one limit together, by
// gossip through the cluster they share with it; a proxy-cache purge made on the control plane
// reaches them the same way.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { admin, hybridFixture, untilNodes, type HybridFixture } from '../support/hybrid.ts';

let fx: HybridFixture;
let cp: SimNode;
let dp1: SimNode;
let dp2: SimNode;
const LIMIT = 5;

const until = (what: string, check: () => Promise<boolean>) => untilNodes(what, check, 30_000, [cp, dp1, dp2]);

async function get(n: SimNode, p: string): Promise<{ status: number; cache: string | null }> {
  try {
    const r = await fetch(`${n.proxyUrl}${p}`, { signal: AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    return { status: r.status, cache: r.headers.get('x-cache-status') };
  } catch {
    return { status: 0, cache: null };
  }
}

beforeAll(async () => {
  fx = await hybridFixture('hybrid-rl');
  const cpPort = await freePort();
  cp = await fx.node('cp', 'control_plane', { controlPlanePort: cpPort, clusterPort: cpPort });
  dp1 = await fx.node('dp1', 'data_plane', { controlPlanePort: cpPort });
  dp2 = await fx.node('dp2', 'data_plane', { controlPlanePort: cpPort });
  await cp.start();
  await dp1.start();
  await dp2.start();
});

afterAll(async () => {
  await fx?.close();
});

test('two data planes count a cluster limit together; a cache purge on the control plane empties both', { timeout: 90_000 }, async () => {
  expect((await admin(cp, 'POST', '/services', { name: 'echo', url: fx.echo.url })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo/routes', { name: 'limited', paths: ['/limited'] })).status).toBe(201);
  expect((await admin(cp, 'POST', '/routes/limited/plugins', { name: 'rate-limiting', config: { hour: LIMIT, policy: 'cluster' } })).status).toBe(201);
  expect((await admin(cp, 'POST', '/services/echo/routes', { name: 'cached', paths: ['/cached'] })).status).toBe(201);
  expect((await admin(cp, 'POST', '/routes/cached/plugins', { name: 'proxy-cache', config: { strategy: 'memory', content_type: ['application/json', 'text/plain', 'application/json; charset=utf-8'] } })).status).toBe(201);
  await until('both data planes serve the cached route', async () => (await get(dp1, '/cached')).status === 200 && (await get(dp2, '/cached')).status === 200);
  // Both ways: the limit is split between the members each node sees alive (one that does
  // not see the other yet counts alone).
  await until('the data planes see each other alive', async () => {
    for (const [a, b] of [[dp1, dp2], [dp2, dp1]] as const) {
      const r = await admin(a, 'GET', '/cluster/members');
      if (!r.body.data.some((m: { name: string; status: string }) => m.name === b.name && m.status === 'alive')) return false;
    }
    return true;
  });

  let admitted = 0;
  for (let i = 0; i < LIMIT * 2; i++) {
    if ((await get(i % 2 === 0 ? dp1 : dp2, '/limited')).status === 200) admitted++;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(admitted).toBe(LIMIT);

  // Both hold the cached answer; a purge on the control plane (which has no proxy) reaches them.
  await until('a Hit on both data planes', async () => (await get(dp1, '/cached')).cache === 'Hit' && (await get(dp2, '/cached')).cache === 'Hit');
  expect((await admin(cp, 'DELETE', '/proxy-cache')).status).toBe(204);
  // Each data plane is asked until it misses once: a Miss stores the answer again, so the two
  // cannot be required to miss in the same round (the purge may reach one a little later).
  for (const dp of [dp1, dp2]) await until(`the purge on ${dp.name}`, async () => (await get(dp, '/cached')).cache === 'Miss');
});
