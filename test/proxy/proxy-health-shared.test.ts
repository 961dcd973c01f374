// Health checks with proxy workers: the node's primary probes each target once for the whole
// node (not once per worker), every worker follows its verdicts over IPC, and a verdict one
// worker's passive checks reach is every worker's at once (Kong's shared health table).
import { afterAll, beforeAll, expect, test } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/log.ts';
import { startNodeProxy, type NodeProxy } from '../../src/proxy/node-proxy.ts';
import { eventually, route, service, snapshot, target, upstream } from '../support/proxy-fixtures.ts';

interface Target {
  name: string;
  port: number;
  healthy: boolean;
  probes: number;
  server: http.Server;
}

function targetServer(name: string): Promise<Target> {
  const t = { name, port: 0, healthy: true, probes: 0 } as Target;
  t.server = http.createServer((req, res) => {
    if (req.url === '/health') {
      t.probes++;
      res.writeHead(t.healthy ? 200 : 500);
      return void res.end();
    }
    res.end(name);
  });
  return new Promise((r) =>
    t.server.listen(0, '127.0.0.1', () => {
      t.port = (t.server.address() as AddressInfo).port;
      r(t);
    }),
  );
}

let a: Target;
let b: Target;
let node: NodeProxy;
let port: number;
const INTERVAL_S = 0.2;
let activeId: string;

/** One request on a fresh connection, so node:cluster spreads them over the workers. */
function fresh(path = '/h'): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body : String(res.statusCode)));
      })
      .on('error', reject);
  });
}

async function spread(n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await fresh();
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

beforeAll(async () => {
  a = await targetServer('a');
  b = await targetServer('b');
  port = await freePort();
  const u = upstream('shared-health', {
    healthchecks: {
      active: { http_path: '/health', timeout: 1, healthy: { interval: INTERVAL_S, successes: 1 }, unhealthy: { interval: INTERVAL_S, http_failures: 1 } },
    },
  });
  activeId = u.id;
  const s = service({ host: 'shared-health', retries: 0 });
  // Passive checks only: one refused connection makes a target unhealthy; nothing probes it back.
  const up2 = upstream('passive-shared', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } });
  const s2 = service({ host: 'passive-shared', retries: 0 });
  const snap = snapshot({
    upstreams: [u, up2],
    targets: [target(u, `127.0.0.1:${a.port}`), target(u, `127.0.0.1:${b.port}`), target(up2, `127.0.0.1:${a.port}`), target(up2, `127.0.0.1:${await freePort()}`)],
    services: [s, s2],
    routes: [route(s, { paths: ['/h'] }), route(s2, { paths: ['/p'] })],
  });
  node = await startNodeProxy({
    workerProcesses: 2,
    listen: [{ host: '127.0.0.1', port, flags: [] }],
    snapshot: () => snap,
    logger: createLogger('test-health', 'silent'),
    nodeName: 'health-test',
    logLevel: 'silent',
  });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  for (const t of [a, b]) await new Promise<void>((r) => t?.server.close(() => r()));
});

test('one prober per node: probes come at the rate of one checker, not one per worker', async () => {
  const before = a.probes;
  const windowMs = 3000;
  await new Promise((r) => setTimeout(r, windowMs));
  const made = a.probes - before;
  const oneChecker = windowMs / (INTERVAL_S * 1000);
  // A busy machine only makes probes late (fewer); two workers probing would make about twice.
  expect(made).toBeGreaterThan(0);
  expect(made).toBeLessThanOrEqual(oneChecker * 1.5);
});

test("every worker follows the primary's verdicts: out when unhealthy, back when healthy", async () => {
  expect((await node.workers()).length).toBe(2);
  b.healthy = false;
  const gone = await eventually(async () => {
    const seen = await spread(12);
    return !seen.has('b');
  });
  expect(gone).toBe(true);
  // every worker served, and none of them sent anything to b
  const perWorker = await node.workers();
  expect(perWorker.every((w) => w.requests > 0)).toBe(true);
  expect((await spread(20)).get('b')).toBeUndefined();
  b.healthy = true;
  const back = await eventually(async () => ((await spread(12)).get('b') ?? 0) >= 4);
  expect(back).toBe(true);
});

test("a passive verdict reached in one worker is every worker's: the dead target fails one request, not one per worker", async () => {
  const got: string[] = [];
  for (let i = 0; i < 20; i++) got.push(await fresh('/p'));
  // Without sharing, each of the two workers would send its own first request to the dead target.
  expect(got.filter((g) => g === '502')).toHaveLength(1);
  expect(got.filter((g) => g === 'a')).toHaveLength(19);
});

test("a verdict set by hand (Kong's PUT /upstreams/{u}/targets/{t}/unhealthy) reaches every worker, and the node reports it", async () => {
  // The passive-only upstream: no prober turns the verdict back behind the test's back.
  const target = `127.0.0.1:${a.port}`;
  const mine = (r: { target: string; upstream: string }) => r.target === target && r.upstream === passiveId;
  const passiveId = node.health.reports().filter((r) => r.target === target).map((r) => r.upstream).find((id) => id !== activeId)!;
  node.health.set({ upstream: passiveId, target, healthy: false });
  expect(node.health.reports().find(mine)?.healthy).toBe(false);
  const got: string[] = [];
  for (let i = 0; i < 8; i++) got.push(await fresh('/p'));
  expect(got).not.toContain('a');
  node.health.set({ upstream: passiveId, target, healthy: true });
  expect(node.health.reports().find(mine)?.healthy).toBe(true);
  expect(await eventually(async () => (await fresh('/p')) === 'a')).toBe(true);
});
