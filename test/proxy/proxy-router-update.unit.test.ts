// A router kept current one change at a time must answer every request exactly as a router
// built from scratch on the same configuration: seeded random routes (hosts, wildcards,
// methods, headers, prefix and regex paths, priorities), random creates / updates / deletes
// and services switched off and on, compared after every step on a fixed set of requests.
import { expect, test } from 'vitest';
import type { Route, Service } from '../../src/entities/types.ts';
import { Router, type RequestFacts } from '../../src/proxy/router.ts';
import { prng } from '../../sim/prng.ts';

const service = (id: string, enabled = true): Service => ({
  id, name: id, protocol: 'http', host: '127.0.0.1', port: 80, path: null, retries: 5,
  connect_timeout: 1000, write_timeout: 1000, read_timeout: 1000, enabled, tags: null, created_at: 1, updated_at: 1,
});

const HOSTS = ['a.test', 'b.test', '*.test', 'a.*', 'c.test:8000'];
const SEGS = ['x', 'xy', 'y', 'z'];

function randomRoute(rnd: () => number, id: string, createdAt: number): Route {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const some = <T>(xs: T[], p: number): T[] | null => (rnd() < p ? [...new Set([pick(xs), pick(xs)])] : null);
  const paths: string[] = [];
  const nPaths = Math.floor(rnd() * 3);
  for (let i = 0; i < nPaths; i++) {
    const r = rnd();
    if (r < 0.25) paths.push(`~/${pick(SEGS)}/(?<n>\\d+)`);
    else if (r < 0.5) paths.push(`/${pick(SEGS)}`);
    else paths.push(`/${pick(SEGS)}/${pick(SEGS)}`);
  }
  return {
    id, name: id, protocols: rnd() < 0.05 ? ['grpc'] : ['http', 'https'],
    methods: some(['GET', 'POST'], 0.3), hosts: some(HOSTS, 0.5), paths: paths.length ? paths : null,
    headers: rnd() < 0.15 ? { 'x-v': [pick(['1', '2'])] } : null,
    https_redirect_status_code: 426, regex_priority: Math.floor(rnd() * 3), strip_path: rnd() < 0.5, path_handling: 'v0',
    preserve_host: false, request_buffering: true, response_buffering: true, snis: null, sources: null, destinations: null,
    service: { id: pick(['s1', 's2', 's3']) }, tags: null, created_at: createdAt, updated_at: createdAt,
  };
}

const REQUESTS: RequestFacts[] = [];
for (const host of ['a.test', 'b.test', 'q.test', 'a.org', 'c.test', 'none'])
  for (const path of ['/', '/x', '/x/y', '/xy/z/1', '/y/12', '/z/x', '/x/7', '/yz'])
    for (const method of ['GET', 'POST'])
      for (const port of [80, 8000]) REQUESTS.push({ method, host, port, path, headers: path.length % 2 ? { 'x-v': '1' } : {} });

function answers(r: Router): string[] {
  return REQUESTS.map((f) => {
    const m = r.match(f);
    return m ? `${m.route.id} ${m.upstreamPath} ${m.strippedPrefix}` : '-';
  });
}

for (const seed of [1, 2, 3]) {
  test(`incremental updates answer like a fresh build (seed ${seed})`, () => {
    const rnd = prng(seed).next;
    const services = new Map(['s1', 's2', 's3'].map((id) => [id, service(id)]));
    const routes = new Map<string, Route>();
    let clock = 0;
    for (let i = 0; i < 40; i++) routes.set(`r${i}`, randomRoute(rnd, `r${i}`, ++clock));
    const serviceOf = (r: Route) => (r.service ? services.get(r.service.id) : null);
    const live = new Router(routes.values(), serviceOf);
    let matched = 0;
    for (let step = 0; step < 300; step++) {
      const changedRoutes: string[] = [];
      const changedServices: string[] = [];
      const r = rnd();
      const id = `r${Math.floor(rnd() * 60)}`;
      if (r < 0.1) {
        const s = ['s1', 's2', 's3'][Math.floor(rnd() * 3)]!;
        services.set(s, service(s, !services.get(s)!.enabled));
        changedServices.push(s);
      } else if (r < 0.35 && routes.has(id)) {
        routes.delete(id);
        changedRoutes.push(id);
      } else {
        // A new route, or a new version of one (keeping its created_at, as Kong does).
        routes.set(id, randomRoute(rnd, id, routes.get(id)?.created_at ?? ++clock));
        changedRoutes.push(id);
      }
      live.update(changedRoutes, changedServices, (x) => routes.get(x), serviceOf);
      const fresh = new Router(routes.values(), serviceOf);
      const got = answers(live);
      expect(got, `step ${step}`).toEqual(answers(fresh));
      expect(live.size).toBe(fresh.size);
      matched += got.filter((a) => a !== '-').length;
    }
    // The comparison means something only if requests do match routes along the way.
    expect(matched).toBeGreaterThan(1000);
  });
}

test('many inserts at the same place keep the order (ranks renumbered when they run out of room)', () => {
  const svc = service('s1');
  const mk = (i: number): Route => ({
    ...randomRoute(prng(i).next, `q${i}`, 1000 - i),
    hosts: null, methods: null, headers: null, protocols: ['http'], paths: [`/p/${'a'.repeat(3)}`], service: { id: 's1' },
  });
  const routes = new Map<string, Route>();
  const live = new Router([], () => svc);
  // Each new route sorts just before the previous one (older created_at), always between the same two neighbours' gap.
  routes.set('first', { ...mk(0), id: 'first', created_at: -1 });
  routes.set('last', { ...mk(0), id: 'last', created_at: 10_000 });
  live.update(['first', 'last'], [], (x) => routes.get(x), () => svc);
  for (let i = 1; i < 80; i++) {
    const r = { ...mk(i), created_at: 5000 - 1 / 2 ** i };
    routes.set(r.id, r);
    live.update([r.id], [], (x) => routes.get(x), () => svc);
  }
  const fresh = new Router(routes.values(), () => svc);
  const f = { method: 'GET', host: 'h', port: 80, path: '/p/aaa', headers: {} };
  expect(live.match(f)?.route.id).toBe('first');
  routes.delete('first');
  live.update(['first'], [], (x) => routes.get(x), () => svc);
  expect(live.match(f)?.route.id).toBe(new Router(routes.values(), () => svc).match(f)?.route.id);
  expect(fresh.size).toBe(live.size + 1);
});
