// Upstreams and targets with real servers: weighted round-robin, consistent hashing,
// least-connections, active and passive health checks (a target killed and restarted),
// Kong's 503 when no target is healthy, and DNS resolution of service hosts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { ChangeEvent } from '../../src/entities/types.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, eventually, get, portsOf, route, service, snapshot, target, upstream, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
const ups: Upstream_[] = [];

function ev(entity: ChangeEvent['entity'], data: { id: string }): ChangeEvent {
  return { id: randomUUID(), config_version: 2, channel: 'invalidations', entity, op: 'create', entity_id: data.id, cache_keys: [], data, node_id: null, at: Date.now() };
}

async function add(name: string, path: string, targets: [number, number][], o: Parameters<typeof upstream>[1] = {}): Promise<void> {
  const u = upstream(name, o);
  const s = service({ host: name, retries: 0 });
  proxy.applyChanges([ev('upstreams', u), ...targets.map(([port, w]) => ev('targets', target(u, `127.0.0.1:${port}`, w))), ev('services', s), ev('routes', route(s, { paths: [path] }))]);
  await proxy.settled();
}

const ports = (path: string, n: number, headers?: Record<string, string>) => portsOf(base, path, n, headers);

const count = (xs: number[], x: number) => xs.filter((y) => y === x).length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  for (let i = 0; i < 3; i++) ups.push(await echoServer());
  proxy = await createProxyServer({ snapshot: snapshot() });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  for (const u of ups) await u.close();
});

describe('algorithms', () => {
  test('weighted round-robin follows the weights', async () => {
    await add('rr', '/rr', [[ups[0]!.port, 300], [ups[1]!.port, 100]]);
    const got = await ports('/rr', 40);
    expect(count(got, ups[0]!.port)).toBe(30);
    expect(count(got, ups[1]!.port)).toBe(10);
  });

  test('consistent hashing on a header sticks to one target per value', async () => {
    await add('ch', '/ch', [[ups[0]!.port, 100], [ups[1]!.port, 100], [ups[2]!.port, 100]], {
      algorithm: 'consistent-hashing',
      hash_on: 'header',
      hash_on_header: 'x-user',
    });
    const seen = new Set<number>();
    for (const user of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      const got = await ports('/ch', 5, { 'x-user': user });
      expect(new Set(got).size).toBe(1);
      seen.add(got[0]!);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  test('consistent hashing on a cookie hands out the cookie', async () => {
    await add('chc', '/chc', [[ups[0]!.port, 100], [ups[1]!.port, 100]], { algorithm: 'consistent-hashing', hash_on: 'cookie', hash_on_cookie: 'sticky' });
    const first = await get(`${base}/chc`);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^sticky=/);
    const got = await ports('/chc', 5, { cookie });
    expect(new Set(got).size).toBe(1);
  });

  test('least-connections prefers the idle target', async () => {
    const held: import('node:http').ServerResponse[] = [];
    const slowUp = await echoServer((_q, res) => void held.push(res));
    ups.push(slowUp);
    await add('lc', '/lc', [[slowUp.port, 100], [ups[0]!.port, 100]], { algorithm: 'least-connections' });
    // The first request goes to one target and stays in flight there until released.
    const pending = get(`${base}/lc`);
    // Ties go to the first target in creation order: the slow one.
    for (let i = 0; i < 500 && held.length === 0; i++) await sleep(10);
    expect(held).toHaveLength(1);
    const got = await ports('/lc', 5);
    // Every new request avoids the busy target.
    expect(got.every((p) => p === ups[0]!.port)).toBe(true);
    for (const r of held) r.end(JSON.stringify({ port: slowUp.port }));
    await pending;
  });
});

describe('health checks', () => {
  test('active checks take a killed target out and bring it back when restarted', async () => {
    const victim = await echoServer();
    const port = victim.port;
    await add('act', '/act', [[ups[0]!.port, 100], [port, 100]], {
      healthchecks: {
        active: { http_path: '/health', timeout: 1, healthy: { interval: 0.1, successes: 1 }, unhealthy: { interval: 0.1, tcp_failures: 1, http_failures: 1 } },
      },
    });
    expect(new Set(await ports('/act', 4)).size).toBe(2);
    await victim.close();
    // Probes run every 100 ms; on a loaded machine give them time rather than assume it.
    expect(await eventually(async () => (await ports('/act', 6)).every((p) => p === ups[0]!.port))).toBe(true);
    const back = await echoServer(undefined, port);
    ups.push(back);
    expect(await eventually(async () => new Set(await ports('/act', 4)).size === 2)).toBe(true);
  });

  test('passive checks: 500s take a target out; none healthy gives Kong 503', async () => {
    const failing = await echoServer((_q, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    ups.push(failing);
    await add('pas', '/pas', [[failing.port, 100]], {
      healthchecks: { passive: { unhealthy: { http_failures: 2 } } },
    });
    const got = await ports('/pas', 4);
    expect(got.slice(0, 2)).toEqual([-500, -500]);
    const r = await get(`${base}/pas`);
    expect(r.status).toBe(503);
    expect(r.json().message).toBe('failure to get a peer from the ring-balancer');
  });
});

describe('dns', () => {
  test('a service host name is resolved (localhost via the system resolver)', async () => {
    const s = service({ host: 'localhost', port: ups[0]!.port });
    proxy.applyChanges([ev('services', s), ev('routes', route(s, { paths: ['/dns'] }))]);
    await proxy.settled();
    const r = await get(`${base}/dns`);
    expect(r.status).toBe(200);
    expect(r.json().headers.host).toBe(`localhost:${ups[0]!.port}`);
  });

  test('an unresolvable host gives 503', async () => {
    const s = service({ host: 'no-such-host.invalid', port: 80 });
    proxy.applyChanges([ev('services', s), ev('routes', route(s, { paths: ['/nxdomain'] }))]);
    await proxy.settled();
    expect((await get(`${base}/nxdomain`)).status).toBe(503);
  });
});
