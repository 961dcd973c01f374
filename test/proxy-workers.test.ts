// Real node:cluster workers: both serve, changes reach them over IPC, a killed worker is
// restarted with the current configuration, rate-limit counters are shared across workers.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { freePort } from '../src/db/embedded.ts';
import type { ChangeEvent } from '../src/entities/types.ts';
import { createLogger } from '../src/log.ts';
import { startProxyWorkers, type ProxyWorkers } from '../src/proxy/workers.ts';
import { echoServer, plugin, route, service, snapshot, type Upstream_ } from './proxy-fixtures.ts';

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

beforeAll(async () => {
  up = await echoServer();
  port = await freePort();
  const s = service({ port: up.port });
  const limited = route(s, { paths: ['/limited'] });
  workers = await startProxyWorkers({
    count: 2,
    listen: { host: '127.0.0.1', port },
    snapshot: () =>
      snapshot({
        services: [s],
        routes: [route(s, { paths: ['/a'] }), limited],
        plugins: [plugin('rate-limiting', { minute: 5, limit_by: 'ip' }, { route: { id: limited.id } })],
      }),
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
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await fresh('/limited')).status);
      await sleep(40); // longer than the counter sync interval
    }
    // The minute can roll over once during the loop; then at most 5 more pass.
    const passed = statuses.filter((s) => s === 200).length;
    expect(passed === 5 || passed === 10).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBe(12 - passed);
  });

  test('a killed worker is restarted with the current configuration', async () => {
    const s = service({ port: up.port });
    workers.broadcast([ev('services', s), ev('routes', route(s, { paths: ['/late'] }))]);
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
