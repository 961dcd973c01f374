// Real node:cluster workers: both serve, changes reach them over IPC, a killed worker is
// restarted with the current configuration, rate-limit counters are shared across workers.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../src/db/embedded.ts';
import type { ChangeEvent } from '../../src/entities/types.ts';
import { createLogger } from '../../src/log.ts';
import { startProxyWorkers, type ProxyWorkers } from '../../src/proxy/workers.ts';
import { echoServer, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';

let workers: ProxyWorkers;
let up: Upstream_;
let port: number;

function ev(entity: ChangeEvent['entity'], data: { id: string }): ChangeEvent {
  return { id: randomUUID(), config_version: 2, channel: 'invalidations', entity, op: 'create', entity_id: data.id, cache_keys: [], data, node_id: null, at: Date.now() };
}

/** One request on a fresh connection, so the cluster spreads them over workers. */
function fresh(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const store = new EntityStore();

beforeAll(async () => {
  up = await echoServer();
  port = await freePort();
  const s = service({ port: up.port });
  const limited = route(s, { paths: ['/limited'] });
  // The node's cache of record: workers (re)start from it, and it applies every change
  // before the change is broadcast, as src/node/traditional.ts does.
  store.load(
    snapshot({
      services: [s],
      routes: [route(s, { paths: ['/a'] }), limited],
      plugins: [plugin('rate-limiting', { minute: 5, limit_by: 'ip' }, { route: { id: limited.id } })],
    }),
  );
  workers = await startProxyWorkers({
    count: 2,
    listen: { host: '127.0.0.1', port },
    snapshot: () => store.snapshot(),
    logger: createLogger('test-workers', 'silent'),
    restartDelayMs: 50,
  });
  await workers.ready();
}, 60_000);

afterAll(async () => {
  await workers?.stop();
  await up?.close();
});

describe('proxy workers', () => {
  test('both workers serve traffic', async () => {
    for (let i = 0; i < 20; i++) expect((await fresh('/a/x')).status).toBe(200);
    const ws = await workers.workers();
    expect(ws).toHaveLength(2);
    for (const w of ws) expect(w.requests).toBeGreaterThan(0);
  });

  test('rate-limit counters are shared across workers', async () => {
    // Stay inside one minute window: the test takes about a second.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await sleep(60_000 - intoMinute + 100);
    // Below the limit every request passes, whichever worker serves it.
    for (let i = 0; i < 5; i++) expect((await fresh('/limited')).status).toBe(200);
    // Once the workers' deltas have reached the primary and come back, every worker knows
    // the limit is spent (the sync is asynchronous, hence the pause).
    await sleep(500);
    const after: number[] = [];
    for (let i = 0; i < 8; i++) after.push((await fresh('/limited')).status);
    expect(after).toEqual(Array(8).fill(429));
  });

  test('a killed worker is restarted with the current configuration', async () => {
    const s = service({ port: up.port });
    const events = [ev('services', s), ev('routes', route(s, { paths: ['/late'] }))];
    store.apply(events);
    workers.broadcast(events);
    await sleep(100);
    expect((await fresh('/late/1')).status).toBe(200);
    const before = await workers.workers();
    process.kill(before[0]!.pid, 'SIGKILL');
    await sleep(200);
    await workers.ready(2);
    const after = await workers.workers();
    expect(after).toHaveLength(2);
    expect(after.map((w) => w.pid)).not.toContain(before[0]!.pid);
    for (let i = 0; i < 10; i++) expect((await fresh('/late/1')).status).toBe(200);
    const served = await workers.workers();
    expect(served.every((w) => w.requests > 0)).toBe(true);
  });
});
