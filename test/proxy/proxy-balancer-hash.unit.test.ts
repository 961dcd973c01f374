// Consistent hashing on a query argument and on a route's regex capture (Kong's hash_on
// query_arg / uri_capture), with hash_fallback when the first key is absent.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, portsOf, route, service, snapshot, target, upstream, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
const ups: Upstream_[] = [];

const ports = (path: string, n: number, headers?: Record<string, string>) => portsOf(base, path, n, headers);

beforeAll(async () => {
  for (let i = 0; i < 4; i++) ups.push(await echoServer());
  const targetsOf = (u: ReturnType<typeof upstream>) => ups.map((x) => target(u, `127.0.0.1:${x.port}`));
  const uq = upstream('by-arg', { algorithm: 'consistent-hashing', hash_on: 'query_arg', hash_on_query_arg: 'user', hash_fallback: 'header', hash_fallback_header: 'x-tenant' });
  const uc = upstream('by-capture', { algorithm: 'consistent-hashing', hash_on: 'uri_capture', hash_on_uri_capture: 'tenant', hash_fallback: 'query_arg', hash_fallback_query_arg: 't' });
  const sq = service({ host: 'by-arg', retries: 0 });
  const sc = service({ host: 'by-capture', retries: 0 });
  proxy = await createProxyServer({
    snapshot: snapshot({
      upstreams: [uq, uc],
      targets: [...targetsOf(uq), ...targetsOf(uc)],
      services: [sq, sc],
      routes: [route(sq, { paths: ['/q'] }), route(sc, { paths: ['~/t/(?<tenant>[a-z0-9]+)/', '/plain'] })],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  for (const u of ups) await u.close();
});

test('hash_on query_arg: one target per argument value, spread over several targets', async () => {
  const seen = new Set<number>();
  for (const user of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) {
    const got = await ports(`/q?user=${user}&other=${Math.random()}`, 4);
    expect(new Set(got).size).toBe(1);
    expect(got[0]).toBeGreaterThan(0);
    seen.add(got[0]!);
  }
  expect(seen.size).toBeGreaterThan(1);
  // a repeated argument hashes the same whatever the order of its values
  const [ab] = await ports('/q?user=a&user=b', 1);
  const [ba] = await ports('/q?user=b&user=a', 1);
  expect(ab).toBe(ba);
});

test('hash_fallback is used when the query argument is missing', async () => {
  const seen = new Set<number>();
  for (const t of ['x', 'y', 'z', 'w', 'v', 'u', 't', 's']) {
    const got = await ports('/q', 4, { 'x-tenant': t });
    expect(new Set(got).size).toBe(1);
    seen.add(got[0]!);
  }
  expect(seen.size).toBeGreaterThan(1);
});

test('hash_on uri_capture: the named capture of the matched regex path picks the target', async () => {
  const seen = new Set<number>();
  for (const tenant of ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka']) {
    const got = await ports(`/t/${tenant}/items/${Math.random()}`, 4);
    expect(new Set(got).size).toBe(1);
    seen.add(got[0]!);
    // the capture matters, not the rest of the path: a second path for the same tenant agrees
    const [other] = await ports(`/t/${tenant}/orders`, 1);
    expect(other).toBe(got[0]);
  }
  expect(seen.size).toBeGreaterThan(1);
  // a route path without the capture falls back to the t query argument
  const [p1] = await ports('/plain?t=acme', 1);
  const again = await ports('/plain?t=acme', 3);
  expect(new Set([p1, ...again]).size).toBe(1);
});
