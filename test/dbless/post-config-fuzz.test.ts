// 500 malformed POST /config bodies (fuzz-cases.ts, from a seed) on a running DB-less node:
// each is answered 400 with Kong's code 14 body locating its problems, never a 5xx, and after
// each the node still runs the same configuration and still proxies with it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { adminRequest, proxiedStatus } from '../../sim/harness/admin-call.ts';
import { dblessFixture, postConfig, type DblessFixture } from './dbless-support.ts';
import { FUZZ_SEED, fuzzCases, validDoc } from './fuzz-cases.ts';

let fx: DblessFixture;
let node: SimNode;

beforeAll(async () => {
  fx = await dblessFixture('dbless-fuzz');
  node = await fx.node('fuzz', { worker_processes: 1 });
  await node.start();
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

test(`500 malformed POST /config bodies (seed ${FUZZ_SEED}): 400 with locations, never 5xx, configuration unchanged`, async () => {
  const good = await postConfig(node, JSON.stringify(validDoc(fx.echo.port)), 'application/json');
  expect(good.status).toBe(201);
  const hash = (await adminRequest(node, 'GET', '/status')).body.configuration_hash as string;
  const exported = (await adminRequest(node, 'GET', '/config')).body.config as string;
  for (const c of fuzzCases(FUZZ_SEED, 500, fx.echo.port)) {
    const r = await postConfig(node, c.body, c.contentType);
    const why = `${c.what.join('; ')} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
    expect(r.status, why).toBe(400);
    expect(r.body.code, why).toBe(14);
    expect(Object.keys(r.body.fields).length, why).toBeGreaterThan(0);
    expect((await adminRequest(node, 'GET', '/status')).body.configuration_hash, why).toBe(hash);
  }
  expect((await adminRequest(node, 'GET', '/config')).body.config).toBe(exported);
  expect(await proxiedStatus(node, '/a')).toBe(200);
}, 300_000);
