// DB-less nodes sharing a cluster certificate (real processes): members of one cluster showing
// their config_hash, and, beyond Kong, one POST /config reaching every DB-less member, with
// concurrent POSTs to two members resolved to the same (newest) configuration everywhere.
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SimNode } from '../../sim/harness/node-process.ts';
import { adminRequest, proxiedStatus } from '../../sim/harness/admin-call.ts';
import { runCli } from '../support/cli.ts';
import { until } from '../support/until.ts';
import { dblessFixture, postConfig, type DblessFixture } from './dbless-support.ts';

let fx: DblessFixture;
let nodes: SimNode[];
let cert: Record<string, string | number>;

const members = async (n: SimNode) => (await adminRequest(n, 'GET', '/cluster/members')).body.data as { name: string; role: string; config_hash: string; config_version: number }[];
const hashOf = async (n: SimNode) => (await adminRequest(n, 'GET', '/status')).body.configuration_hash as string;
const config = (route: string) => JSON.stringify({ _format_version: '3.0', services: [{ name: 'echo', url: `http://127.0.0.1:${fx.echo.port}/`, routes: [{ name: route, paths: [`/${route}`] }] }] });

/** Every node runs the same configuration, and every node's member list shows it for every member. */
async function converged(): Promise<string> {
  return until('every DB-less member on one config_hash', async () => {
    const hashes = await Promise.all(nodes.map(hashOf));
    if (new Set(hashes).size !== 1) return undefined;
    for (const n of nodes) {
      const seen = await members(n);
      if (seen.length !== nodes.length || seen.some((m) => m.config_hash !== hashes[0])) return undefined;
    }
    return hashes[0];
  }, 60_000);
}

beforeAll(async () => {
  fx = await dblessFixture('dbless-cluster');
  const certs = path.join(fx.tmp, 'certs');
  const r = await runCli(['cluster', 'gen-cert', '--out', certs]);
  expect(r.code, r.stderr).toBe(0);
  cert = { cluster_cert: path.join(certs, 'cluster.crt'), cluster_cert_key: path.join(certs, 'cluster.key'), worker_processes: 1 };
  const a = await fx.node('dbless-1', cert);
  await a.start();
  const seed = `127.0.0.1:${a.ports.cluster}`;
  const b = await fx.node('dbless-2', { ...cert, cluster_peers: seed });
  const c = await fx.node('dbless-3', { ...cert, cluster_peers: seed });
  await Promise.all([b.start(), c.start()]);
  nodes = [a, b, c];
}, 180_000);

afterAll(async () => {
  await fx?.close();
});

test('DB-less nodes with the cluster certificate are members of one cluster, each showing its config_hash', async () => {
  await until('three members', async () => ((await members(nodes[0]!)).length === 3 ? true : undefined), 60_000);
  const list = await members(nodes[0]!);
  expect(list.map((m) => m.role)).toEqual(['dbless', 'dbless', 'dbless']);
  for (const m of list) expect(m.config_hash).toMatch(/^[0-9a-f]{32}$/);
}, 90_000);

test('one POST /config reaches every DB-less member', async () => {
  expect((await postConfig(nodes[0]!, config('posted-once'), 'application/json')).status).toBe(201);
  const hash = await converged();
  expect(hash).toBe(await hashOf(nodes[0]!));
  for (const n of nodes) expect(await proxiedStatus(n, '/posted-once')).toBe(200);
}, 90_000);

test('concurrent POSTs to two members: every member ends on the same one of the two', async () => {
  const [rb, rc] = await Promise.all([postConfig(nodes[1]!, config('from-b'), 'application/json'), postConfig(nodes[2]!, config('from-c'), 'application/json')]);
  expect([rb.status, rc.status]).toEqual([201, 201]);
  const hash = await converged();
  const served = await Promise.all(nodes.map(async (n) => [await proxiedStatus(n, '/from-b'), await proxiedStatus(n, '/from-c')]));
  // One of the two won everywhere: each node serves the same route, and not the other.
  const winner = served[0]![0] === 200 ? 'from-b' : 'from-c';
  for (const s of served) expect(s).toEqual(winner === 'from-b' ? [200, 404] : [404, 200]);
  const versions = (await members(nodes[0]!)).map((m) => m.config_version);
  expect(new Set(versions).size).toBe(1);
  expect(hash).toMatch(/^[0-9a-f]{32}$/);
}, 90_000);

test('a DB-less member started later, without a file, takes the fleet\'s configuration', async () => {
  const late = await fx.node('dbless-4', { ...cert, cluster_peers: `127.0.0.1:${nodes[0]!.ports.cluster}` });
  await late.start();
  nodes.push(late);
  const hash = await converged();
  expect(await hashOf(late)).toBe(hash);
  expect((await adminRequest(late, 'GET', '/status/ready')).status).toBe(200);
}, 90_000);
