// Routing rules and priorities of Kong 3's traditional_compatible router, with the examples of
// Kong's "Proxy reference", checked against the Router directly (no network).
import { describe, expect, test } from 'vitest';
import type { Route, Service } from '../../src/entities/types.ts';
import { Router, type RequestFacts } from '../../src/proxy/router.ts';
import { route, service } from '../support/proxy-fixtures.ts';

function build(routes: Route[], services: Service[] = []): Router {
  const byId = new Map(services.map((s) => [s.id, s]));
  return new Router(routes, (r) => (r.service ? byId.get(r.service.id) : null));
}

function req(path: string, o: Partial<RequestFacts> = {}): RequestFacts {
  return { method: 'GET', host: 'localhost', port: 8000, path, headers: {}, ...o };
}

const svc = service({ path: null });

describe('hosts', () => {
  const exact = route(svc, { name: 'exact', hosts: ['example.com', 'foo-service.com'] });
  const suffix = route(svc, { name: 'suffix', hosts: ['*.example.com'] });
  const prefix = route(svc, { name: 'prefix', hosts: ['example.*'] });
  const withPort = route(svc, { name: 'port', hosts: ['ported.com:8080'] });
  const r = build([exact, suffix, prefix, withPort], [svc]);

  test('exact hosts, any of the list', () => {
    expect(r.match(req('/', { host: 'example.com' }))?.route.name).toBe('exact');
    expect(r.match(req('/', { host: 'foo-service.com' }))?.route.name).toBe('exact');
  });
  test('wildcard at the start and at the end', () => {
    expect(r.match(req('/', { host: 'a.example.com' }))?.route.name).toBe('suffix');
    expect(r.match(req('/', { host: 'x.y.example.com' }))?.route.name).toBe('suffix');
    expect(r.match(req('/', { host: 'example.org' }))?.route.name).toBe('prefix');
  });
  test('host with a port only matches that port', () => {
    expect(r.match(req('/', { host: 'ported.com', port: 8080 }))?.route.name).toBe('port');
    expect(r.match(req('/', { host: 'ported.com', port: 8000 }))).toBeNull();
  });
  test('unknown host does not match', () => {
    expect(r.match(req('/', { host: 'other.net' }))).toBeNull();
  });
  test('plain hosts outrank wildcard hosts', () => {
    const w = route(svc, { name: 'w', hosts: ['*.example.com'] });
    const p = route(svc, { name: 'p', hosts: ['api.example.com'] });
    expect(build([w, p], [svc]).match(req('/', { host: 'api.example.com' }))?.route.name).toBe('p');
  });
});

describe('paths', () => {
  test('prefix matching and the longest prefix first', () => {
    const a = route(svc, { name: 'a', paths: ['/service'] });
    const b = route(svc, { name: 'b', paths: ['/service/resource'] });
    const r = build([a, b], [svc]);
    expect(r.match(req('/service'))?.route.name).toBe('a');
    expect(r.match(req('/serviceXYZ'))?.route.name).toBe('a');
    expect(r.match(req('/service/resource/x'))?.route.name).toBe('b');
    expect(r.match(req('/servic'))).toBeNull();
  });

  test("Kong's regex_priority example evaluates in the documented order", () => {
    const r1 = route(svc, { name: 'status', paths: ['~/status/\\d+'], regex_priority: 0 });
    const r2 = route(svc, { name: 'version-status', paths: ['~/version/\\d+/status/\\d+'], regex_priority: 6 });
    const r3 = route(svc, { name: 'version', paths: ['/version'] });
    const r4 = route(svc, { name: 'version-any', paths: ['/version/any/'] });
    const r = build([r1, r2, r3, r4], [svc]);
    expect(r.match(req('/version/1/status/2'))?.route.name).toBe('version-status');
    expect(r.match(req('/status/7'))?.route.name).toBe('status');
    expect(r.match(req('/version/any/thing'))?.route.name).toBe('version-any');
    expect(r.match(req('/version/x'))?.route.name).toBe('version');
  });

  test('regex paths are anchored and outrank longer prefixes', () => {
    const re = route(svc, { name: 're', paths: ['~/foo/\\w+'] });
    const pre = route(svc, { name: 'pre', paths: ['/foo/bar/baz/qux'] });
    const r = build([pre, re], [svc]);
    expect(r.match(req('/foo/bar/baz/qux'))?.route.name).toBe('re');
    expect(r.match(req('/x/foo/bar'))).toBeNull();
  });

  test('higher regex_priority wins between regexes', () => {
    const lo = route(svc, { name: 'lo', paths: ['~/a'], regex_priority: 1 });
    const hi = route(svc, { name: 'hi', paths: ['~/a/b'], regex_priority: 10 });
    expect(build([lo, hi], [svc]).match(req('/a/b'))?.route.name).toBe('hi');
  });

  test('named captures are returned', () => {
    const r = build([route(svc, { paths: ['~/users/(?<id>\\d+)'] })], [svc]);
    expect(r.match(req('/users/42'))?.captures?.groups?.id).toBe('42');
  });

  test('equal priorities: the oldest route wins', () => {
    const older = route(svc, { name: 'older', paths: ['/same'], created_at: 1 });
    const newer = route(svc, { name: 'newer', paths: ['/same'], created_at: 2 });
    expect(build([newer, older], [svc]).match(req('/same'))?.route.name).toBe('older');
  });
});

describe('methods and headers', () => {
  test('methods restrict a route', () => {
    const r = build([route(svc, { name: 'get', paths: ['/m'], methods: ['GET', 'HEAD'] })], [svc]);
    expect(r.match(req('/m', { method: 'HEAD' }))?.route.name).toBe('get');
    expect(r.match(req('/m', { method: 'POST' }))).toBeNull();
  });

  test('more criteria outrank fewer: a header route beats the plain one', () => {
    const plain = route(svc, { name: 'plain', paths: ['/'] });
    const v1 = route(svc, { name: 'v1', paths: ['/'], headers: { version: ['v1', 'V1.1'] } });
    const r = build([plain, v1], [svc]);
    expect(r.match(req('/x', { headers: { version: 'v1.1' } }))?.route.name).toBe('v1');
    expect(r.match(req('/x', { headers: { version: 'v2' } }))?.route.name).toBe('plain');
    expect(r.match(req('/x'))?.route.name).toBe('plain');
  });

  test('header regex with ~*', () => {
    const r = build([route(svc, { name: 'h', headers: { 'x-tenant': ['~*^acme-\\d+$'] } })], [svc]);
    expect(r.match(req('/', { headers: { 'x-tenant': 'ACME-12' } }))?.route.name).toBe('h');
    expect(r.match(req('/', { headers: { 'x-tenant': 'other' } }))).toBeNull();
  });

  test('host + path beats path only; method + host + path beats host + path', () => {
    const p = route(svc, { name: 'p', paths: ['/api'] });
    const hp = route(svc, { name: 'hp', paths: ['/api'], hosts: ['a.com'] });
    const mhp = route(svc, { name: 'mhp', paths: ['/api'], hosts: ['a.com'], methods: ['POST'] });
    const r = build([p, hp, mhp], [svc]);
    expect(r.match(req('/api', { host: 'a.com', method: 'POST' }))?.route.name).toBe('mhp');
    expect(r.match(req('/api', { host: 'a.com' }))?.route.name).toBe('hp');
    expect(r.match(req('/api', { host: 'b.com' }))?.route.name).toBe('p');
  });

  test('routes of a disabled service are not routed', () => {
    const off = service({ enabled: false });
    expect(build([route(off, { paths: ['/off'] })], [off]).match(req('/off'))).toBeNull();
  });
});

describe('strip_path and service path joining (Kong path_handling table)', () => {
  const cases: [string | null, string, string, boolean, string, string][] = [
    // service.path, route.path, request, strip_path, v0, v1
    ['/s', '/fv0', '/fv0req', true, '/s/req', '/sreq'],
    ['/s', '/fv0', '/fv0/req', true, '/s/req', '/s/req'],
    ['/s', '/fv0', '/fv0req', false, '/s/fv0req', '/s/fv0req'],
    ['/s/', '/fv0', '/fv0req', true, '/s/req', '/s/req'],
    ['/s/', '/fv0', '/fv0req', false, '/s/fv0req', '/s/fv0req'],
    ['/s', '/fv0/', '/fv0/req', true, '/s/req', '/sreq'],
    ['/s', '/fv0', '/fv0', true, '/s', '/s'],
    ['/s/', '/fv0', '/fv0', true, '/s', '/s/'],
    [null, '/fv0', '/fv0/req', true, '/req', '/req'],
    [null, '/fv0', '/fv0', true, '/', '/'],
    [null, '/fv0', '/fv0/req', false, '/fv0/req', '/fv0/req'],
  ];
  for (const [spath, rpath, request, strip, v0, v1] of cases) {
    test(`service ${spath} route ${rpath} request ${request} strip=${strip}`, () => {
      const s = service({ path: spath });
      const a = build([route(s, { paths: [rpath], strip_path: strip, path_handling: 'v0' })], [s]).match(req(request));
      const b = build([route(s, { paths: [rpath], strip_path: strip, path_handling: 'v1' })], [s]).match(req(request));
      expect(a?.upstreamPath).toBe(v0);
      expect(b?.upstreamPath).toBe(v1);
    });
  }

  test('regex strip removes the matched part', () => {
    const s = service({ path: '/base' });
    const m = build([route(s, { paths: ['~/v\\d+'], strip_path: true })], [s]).match(req('/v2/users'));
    expect(m?.upstreamPath).toBe('/base/users');
    expect(m?.strippedPrefix).toBe('/v2');
  });
});

describe('scale', () => {
  test('10,000 routes: every one is reachable and misses are misses', () => {
    const routes: Route[] = [];
    for (let i = 0; i < 10_000; i++) routes.push(route(svc, { name: `r${i}`, paths: [`/r${i}/`] }));
    for (let i = 0; i < 100; i++) routes.push(route(svc, { name: `h${i}`, hosts: [`h${i}.example.com`] }));
    const r = build(routes, [svc]);
    for (const i of [0, 1, 9999, 4321]) expect(r.match(req(`/r${i}/x`))?.route.name).toBe(`r${i}`);
    expect(r.match(req('/r10000/x'))).toBeNull();
    expect(r.match(req('/anything', { host: 'h7.example.com' }))?.route.name).toBe('h7');
  });
});

describe('snis', () => {
  // Kong's traditional_compatible expression: `(net.protocol != "https" || tls.sni == ...)`.
  const named = route(svc, { name: 'named', protocols: ['https'], snis: ['api.example.com.'], paths: ['/api'] });
  const wild = route(svc, { name: 'wild', protocols: ['https'], snis: ['*.example.org', 'edge.*'], paths: ['/api'] });
  const r = build([named, wild], [svc]);

  test('an https request matches a route only through one of its snis (a final dot is not used)', () => {
    expect(r.match(req('/api', { sni: 'api.example.com' }))?.route.name).toBe('named');
    expect(r.match(req('/api', { sni: 'a.b.example.org' }))?.route.name).toBe('wild');
    expect(r.match(req('/api', { sni: 'edge.eu' }))?.route.name).toBe('wild');
    expect(r.match(req('/api', { sni: 'other.test' }))).toBeNull();
    expect(r.match(req('/api', { sni: '' }))).toBeNull();
  });

  test('a plain-HTTP request ignores snis', () => {
    expect(r.match(req('/api', { sni: null }))?.route.name).toBeDefined();
    expect(r.match(req('/api'))?.route.name).toBeDefined();
  });
});
