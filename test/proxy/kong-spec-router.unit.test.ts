// Kong/kong spec/02-integration/05-proxy/02-router_spec.lua (traditional_compatible), one case
// per Kong `it`, for the describe blocks below. Kong tells which route matched with its
// `kong-debug` header; here each service has its own upstream, which says which one it is.
// The upstream answers as Kong's mock_upstream does for the paths these cases use
// (`/status/{code}`, `/basic-auth/...` without credentials: 401, `/get`, `/anything`,
// `/request`, `/post`, `/put` and `/`: an echo of the request, any other path: 404).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { Route, Service } from '../../src/entities/types.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';
import { ssl } from '../support/tls-fixtures.ts';
import https from 'node:https';
import { defaultTlsContextSettings } from '../../src/proxy/tls-settings.ts';

const SPEC = '02-router_spec.lua';

function mockUpstream(name: string): Promise<Upstream_> {
  return echoServer((req, res) => {
    const status = /^\/status\/(\d{3})/.exec(req.url ?? '');
    if (status) {
      res.writeHead(Number(status[1]), { 'x-service': name });
      return void res.end();
    }
    if ((req.url ?? '').startsWith('/basic-auth/') && !req.headers.authorization) {
      res.writeHead(401, { 'x-service': name });
      return void res.end();
    }
    const known = /^\/($|get|anything|request|post|put)(\/|$|\?)/.test(req.url ?? '');
    if (!known) {
      res.writeHead(404, { 'x-service': name });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-service': name });
    res.end(JSON.stringify({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', port: 0 } satisfies Echo));
  });
}

type RouteSpec = Omit<Partial<Route>, 'service'> & { service?: Partial<Service> | null };
interface Fixture {
  port: number;
  /** The `ssl` listener's port (0 without one). */
  sslPort: number;
  routes: Route[];
  services: (Service | null)[];
  close(): Promise<void>;
}

/**
 * Kong's insert_routes: each route with its own service (or none), then a proxy over them.
 * `debug`: allow_debug_header = on (Kong's spec starts Kong so); `tls`: an `ssl` listener too.
 */
async function fixture(specs: RouteSpec[], o: { debug?: boolean; tls?: boolean } = {}): Promise<Fixture> {
  const ups: Upstream_[] = [];
  const services: (Service | null)[] = [];
  const routes: Route[] = [];
  for (const [i, spec] of specs.entries()) {
    const { service: svcSpec, ...r } = spec;
    let svc: Service | null = null;
    if (svcSpec !== null) {
      const name = svcSpec?.name ?? `service-${i + 1}`;
      const up = await mockUpstream(name);
      ups.push(up);
      svc = service({ port: up.port, ...svcSpec, name });
    }
    services.push(svc);
    routes.push(route(svc, r));
  }
  const proxy: ProxyServer = await createProxyServer({
    snapshot: snapshot({ services: services.filter((s): s is Service => s !== null), routes }),
    allowDebugHeader: o.debug ?? false,
    tls: o.tls ? { cert: [ssl.cert], key: [ssl.key], settings: defaultTlsContextSettings() } : undefined,
  });
  const port = (await proxy.listen(0, '127.0.0.1')).port;
  const sslPort = o.tls ? (await proxy.listen(0, '127.0.0.1', true)).port : 0;
  return {
    port,
    sslPort,
    routes,
    services,
    close: async () => {
      await proxy.close();
      for (const u of ups) await u.close();
    },
  };
}

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string; json: () => Echo & { message?: string } };
function send(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}
/** The service whose upstream answered (Kong's kong-service-name). */
const served = (a: Answer) => a.headers['x-service'];

describe('no routes match', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([{ hosts: ['example.test'] }]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: responds 404 if no route matches`, async () => {
    const r = await send(f.port, 'GET', '/', { host: 'inexistent.com' });
    expect(r.status).toBe(404);
    expect(r.headers.server).toMatch(/^gossamer\//);
    expect(r.json().message).toBe('no Route matched with those values');
  });
});

describe('use-cases', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { methods: ['GET'], protocols: ['http'], strip_path: false },
      { methods: ['POST', 'PUT'], paths: ['/post', '/put'], protocols: ['http'], strip_path: false },
      { paths: ['/mock_upstream'], protocols: ['http'], strip_path: true, service: { path: '/status' } },
      { paths: ['/private'], protocols: ['http'], strip_path: false, service: { path: '/basic-auth/' } },
      { paths: ['~/users/\\d+/profile'], protocols: ['http'], strip_path: true, service: { path: '/anything' } },
      { protocols: ['http', 'https'], hosts: ['serviceless-route-http.test'], service: null },
      { paths: ['/disabled-service1'], protocols: ['http'], strip_path: false, service: { path: '/disabled-service-path/', enabled: false } },
      { paths: ['~/enabled-service/\\w+'], protocols: ['http'], strip_path: true, service: { path: '/anything/', enabled: true, name: 'enabled-service' } },
      { paths: ['/enabled-service/disabled'], protocols: ['http'], strip_path: true, service: { path: '/some-path/', enabled: false } },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: responds 503 if no service found`, async () => {
    const r = await send(f.port, 'GET', '/', { host: 'serviceless-route-http.test' });
    expect(r.status).toBe(503);
    expect(r.json().message).toBe('no Service found with those values');
  });

  it(`${SPEC}: restricts an route to its methods if specified`, async () => {
    const ok = await send(f.port, 'POST', '/post');
    expect(ok.status).toBe(200);
    expect(served(ok)).toBe('service-2');
    const no = await send(f.port, 'DELETE', '/post');
    expect(no.status).toBe(404);
    expect(served(no)).toBeUndefined();
  });

  it(`${SPEC}: routes by method-only if no other match is found`, async () => {
    const r = await send(f.port, 'GET', '/get');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-1');
  });

  it(`${SPEC}: HTTP/1.0 routes normally`, async () => {
    const a = await rawRequest(f.port, 'GET /get HTTP/1.0\r\n\r\n');
    expect(a.data).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(a.data.toLowerCase()).toContain('x-service: service-1');
  });

  it(`${SPEC}: HTTP/1.1 is rejected by NGINX`, async () => {
    const a = await rawRequest(f.port, 'GET /get HTTP/1.1\r\n\r\n');
    expect(a.data).toMatch(/^HTTP\/1\.1 400 /);
    expect(a.data).toContain('Bad request');
    expect(a.data.toLowerCase()).toContain('server: gossamer/');
  });

  it(`${SPEC}: with strip_path = true`, async () => {
    const r = await send(f.port, 'GET', '/mock_upstream/201');
    expect(r.status).toBe(201);
    expect(served(r)).toBe('service-3');
  });

  it(`${SPEC}: route with a path component in its upstream_url and strip_path = false`, async () => {
    const r = await send(f.port, 'GET', '/private/passwd');
    expect(r.status).toBe(401);
    expect(served(r)).toBe('service-4');
  });

  it(`${SPEC}: route with a path component in its upstream_url and [uri] with a regex`, async () => {
    expect((await send(f.port, 'GET', '/users/foo/profile')).status).toBe(404);
    const r = await send(f.port, 'GET', '/users/123/profile');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-5');
  });

  it(`${SPEC}: ignores route where service enabled=false`, async () => {
    const r = await send(f.port, 'GET', '/disabled-service1');
    expect(r.status).toBe(404);
    // The route of the disabled service is passed over: the method-only route takes it.
    expect(served(r)).toBe('service-1');
  });

  it(`${SPEC}: routes to regex path when longer path service enabled=false`, async () => {
    const r = await send(f.port, 'GET', '/enabled-service/disabled');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('enabled-service');
  });
});

describe('URI normalization', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { strip_path: true, paths: ['/foo/bar'] },
      { strip_path: true, paths: ['/hello'] },
      { strip_path: false, paths: ['/anything/world'] },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: matches against normalized URI with percent-encoded characters`, async () => {
    const r = await send(f.port, 'GET', '/h%65llo');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-2');
    expect(r.json().headers['x-forwarded-path']).toBe('/h%65llo');
  });

  it(`${SPEC}: proxies normalized URI to upstream with strip_path = true`, async () => {
    const r = await send(f.port, 'GET', '/h%65llo/anything/a/../b');
    expect(served(r)).toBe('service-2');
    expect(r.json().url).toBe('/anything/b');
  });

  it(`${SPEC}: proxies normalized URI to upstream with strip_path = false`, async () => {
    const r = await send(f.port, 'GET', '/anything/./a/../wor%6cd/a/../b');
    expect(served(r)).toBe('service-3');
    expect(r.json().url).toBe('/anything/world/b');
  });

  it(`${SPEC}: re-encode special characters in request uri when proxying to the upstream`, async () => {
    const r = await send(f.port, 'GET', '/anything/world/cat%20and%20dog');
    expect(served(r)).toBe('service-3');
    expect(r.json().url).toBe('/anything/world/cat%20and%20dog');
  });
});

describe('strip_path', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([{ paths: ['/x/y/z', '/z/y/x'], strip_path: true }]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: strips subsequent calls to an route with different [paths]`, async () => {
    for (const path of ['/x/y/z/get', '/z/y/x/get', '/x/y/z/get', '/x/y/z/get']) {
      const r = await send(f.port, 'GET', path);
      expect(r.status).toBe(200);
      expect(r.json().url).toBe('/get');
    }
  });
});

describe('preserve_host', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { preserve_host: true, hosts: ['preserved.com', 'preserved.com:123'], service: { path: '/request' } },
      { preserve_host: false, hosts: ['discarded.com'], service: { path: '/request' } },
      { strip_path: false, preserve_host: true, paths: ['/request'] },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: uses hostname from upstream_url`, async () => {
    expect((await send(f.port, 'GET', '/get', { host: 'discarded.com' })).json().headers.host).toContain('127.0.0.1');
  });

  it(`${SPEC}: uses port value from upstream_url if not default`, async () => {
    expect((await send(f.port, 'GET', '/get', { host: 'discarded.com' })).json().headers.host).toContain(`:${f.services[1]!.port}`);
  });

  it(`${SPEC}: forwards request Host`, async () => {
    expect((await send(f.port, 'GET', '/', { host: 'preserved.com' })).json().headers.host).toBe('preserved.com');
  });

  it(`${SPEC}: forwards request Host:Port if port isn't default`, async () => {
    expect((await send(f.port, 'GET', '/get', { host: 'preserved.com:123' })).json().headers.host).toBe('preserved.com:123');
  });

  it(`${SPEC}: forwards request Host even if not matched by [hosts]`, async () => {
    expect((await send(f.port, 'GET', '/get', { host: 'preserved.com' })).json().headers.host).toBe('preserved.com');
  });
});

describe('edge-cases', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { strip_path: true, paths: ['/'] },
      { strip_path: true, paths: ['/foobar'] },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: root / [uri] for a catch-all rule`, async () => {
    let r = await send(f.port, 'GET', '/get');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-1');
    r = await send(f.port, 'GET', '/foobar/get');
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-2');
  });
});

describe('[#headers]', () => {
  const cases: [string, RouteSpec[], [Record<string, string>, string][]][] = [
    [
      'matches by header',
      [{ headers: { version: ['v1', 'v2'] } }, { headers: { version: ['v3'] } }],
      [
        [{ version: 'v1' }, 'service-1'],
        [{ version: 'v3' }, 'service-2'],
      ],
    ],
    [
      'matches headers in a case-insensitive way',
      [{ headers: { Version: ['v1', 'v2'] } }, { headers: { version: ['V3'] } }],
      [
        [{ version: 'v1' }, 'service-1'],
        [{ Version: 'v3' }, 'service-2'],
      ],
    ],
    [
      'prioritizes Routes with more headers',
      [{ headers: { version: ['v1', 'v2'] } }, { headers: { version: ['v3'], location: ['us-east'] } }, { headers: { version: ['v3'] } }],
      [
        [{ version: 'v3', location: 'us-east' }, 'service-2'],
        [{ version: 'v3' }, 'service-3'],
      ],
    ],
  ];
  for (const [title, specs, requests] of cases) {
    it(`${SPEC}: ${title}`, async () => {
      const f = await fixture(specs);
      try {
        for (const [headers, want] of requests) {
          const r = await send(f.port, 'GET', '/', { host: 'domain.test', ...headers });
          expect(r.status).toBe(200);
          expect(served(r)).toBe(want);
        }
      } finally {
        await f.close();
      }
    });
  }

  it(`${SPEC}: caching do not ignore headers (regression)`, async () => {
    const f = await fixture([
      { service: { name: 'first' }, hosts: ['example.test'], paths: ['/test'], headers: { headertest: ['itsatest'] } },
      { service: { name: 'second' }, hosts: ['example.test'], paths: ['/test'] },
    ]);
    try {
      // Kong's mock upstream answers /test 404 after the strip too; the route taken is what counts.
      expect(served(await send(f.port, 'GET', '/test', { host: 'example.test', headertest: 'itsatest' }))).toBe('first');
      expect(served(await send(f.port, 'GET', '/test', { host: 'example.test' }))).toBe('second');
      expect(served(await send(f.port, 'GET', '/test', { host: 'example.test', headertest: 'itsatest' }))).toBe('first');
    } finally {
      await f.close();
    }
  });
});

describe('[paths] + [#headers]', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { strip_path: true, headers: { version: ['v1', 'v2'] }, paths: ['/root'] },
      { strip_path: true, headers: { version: ['v1', 'v2'] }, paths: ['/root/fixture'] },
      { strip_path: true, headers: { version: ['v1', 'v2'], location: ['us-east'] }, paths: ['/root'] },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: prioritizes Routes with more headers (paths)`, async () => {
    const r = await send(f.port, 'GET', '/root/fixture/get', { version: 'v2', location: 'us-east' });
    expect(r.status).toBe(404);
    expect(served(r)).toBe('service-3');
  });

  it(`${SPEC}: prioritizes longer paths if same number of headers`, async () => {
    const r = await send(f.port, 'GET', '/root/fixture/get', { version: 'v2' });
    expect(r.status).toBe(200);
    expect(served(r)).toBe('service-2');
  });
});

describe('URI regexes order of evaluation with regex_priority', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { strip_path: true, paths: ['~/status/(?P<foo>re)'], service: { name: 'regex_1', path: '/status/200' }, regex_priority: 0 },
      { strip_path: true, paths: ['~/status/(re)'], service: { name: 'regex_2', path: '/status/200' }, regex_priority: 4 },
      { created_at: 1234567890, strip_path: true, paths: ['~/status/(ab)'], service: { name: 'regex_3', path: '/status/200' }, regex_priority: 0 },
      { created_at: 1234567891, strip_path: true, paths: ['~/status/(ab)c?'], service: { name: 'regex_4', path: '/status/200' }, regex_priority: 0 },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: depends on the regex_priority field`, async () => {
    const r = await send(f.port, 'GET', '/status/re');
    expect(r.status).toBe(200);
    // regex_priority 4 shadows the route created before it.
    expect(served(r)).toBe('regex_2');
  });
});

describe('URI arguments (querystring)', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([{ hosts: ['mock_upstream'] }]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: preserves URI arguments`, async () => {
    const r = await send(f.port, 'GET', '/get?foo=bar&hello=world', { host: 'mock_upstream' });
    expect(r.status).toBe(200);
    const args = new URL(r.json().url, 'http://x').searchParams;
    expect([args.get('foo'), args.get('hello')]).toEqual(['bar', 'world']);
  });
});

describe('[paths] + [methods]', () => {
  let f: Fixture;
  beforeAll(async () => {
    // Kong's routes 1-4 (10-14 only serve its it_trad_only cases).
    f = await fixture(
      [
        { strip_path: true, methods: ['GET'], paths: ['/unrelated/longer/uri/that/should/not/match', '/root/fixture'], hosts: ['ahost.test'], service: { path: '/status/201' } },
        { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['ahost.test'], service: { path: '/status/202' } },
        { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['anotherhost.test'], service: { path: '/status/203' } },
        { strip_path: true, methods: ['GET'], paths: ['/root/fixture/get'], hosts: ['onemorehost.test'], service: { path: '/status/204' } },
      ],
      { debug: true },
    );
  });
  afterAll(() => f?.close());

  it(`${SPEC}: prioritizes host over longer URIs`, async () => {
    const r = await send(f.port, 'GET', '/root/fixture/get', { 'kong-debug': '1', host: 'anotherhost.test' });
    expect(r.status).toBe(203);
    expect(r.headers['kong-route-id']).toBe(f.routes[2]!.id);
    expect(r.headers['kong-service-id']).toBe(f.services[2]!.id);
    expect(r.headers['kong-service-name']).toBe(f.services[2]!.name);
  });

  it(`${SPEC}: do not match incomplete URIs`, async () => {
    expect((await send(f.port, 'GET', '/', { 'kong-debug': '1', host: 'ahost.test' })).status).toBe(404);
  });
});

describe('router rebuilds', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([
      { methods: ['GET'], regex_priority: 1 },
      { methods: ['POST', 'PUT'], regex_priority: null as unknown as number },
    ]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: when Routes have 'regex_priority = nil'`, async () => {
    expect((await send(f.port, 'GET', '/')).status).toBe(200);
  });
});

/** helpers.proxy_ssl_client(nil, sni): GET over TLS with that server name. */
function sendTls(port: number, servername: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, headers, servername, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('[snis] for HTTPs connections', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture(
      [
        { protocols: ['https'], snis: ['www.example.org'], service: { name: 'service_behind_www.example.org' } },
        { protocols: ['https'], snis: ['example.org'], service: { name: 'service_behind_example.org' } },
        { protocols: ['https'], snis: ['*.foo.test'], service: { name: 'service_behind_wild.foo.test' } },
        { protocols: ['https'], snis: ['bar.*'], service: { name: 'service_behind_bar.wild' } },
      ],
      { debug: true, tls: true },
    );
  });
  afterAll(() => f?.close());

  it(`${SPEC}: matches a route based on its 'snis' attribute`, async () => {
    for (const name of ['www.example.org', 'example.org']) {
      for (const status of [200, 201]) {
        const r = await sendTls(f.sslPort, name, `/status/${status}`, { 'kong-debug': '1' });
        expect(r.status).toBe(status);
        expect(r.headers['kong-service-name']).toBe(`service_behind_${name}`);
      }
    }
  });

  it(`${SPEC}: matches a route based on its leftmost wildcard sni`, async () => {
    for (const name of ['a.foo.test', 'a.b.foo.test']) {
      const r = await sendTls(f.sslPort, name, '/status/200', { 'kong-debug': '1' });
      expect(r.status).toBe(200);
      expect(r.headers['kong-service-name']).toBe('service_behind_wild.foo.test');
    }
  });

  it(`${SPEC}: matches a route based on its rightmost wildcard sni`, async () => {
    for (const name of ['bar.x', 'bar.y.z']) {
      const r = await sendTls(f.sslPort, name, '/status/200', { 'kong-debug': '1' });
      expect(r.status).toBe(200);
      expect(r.headers['kong-service-name']).toBe('service_behind_bar.wild');
    }
  });
});

describe('disable allow_debug_header config', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture([{ methods: ['GET'], protocols: ['http'], strip_path: false }]);
  });
  afterAll(() => f?.close());

  it(`${SPEC}: disable allow_debug_header config`, async () => {
    // Kong sends 1000 requests to reach each of its 4 workers; one process serves here.
    for (let i = 0; i < 20; i++) {
      const r = await send(f.port, 'GET', '/get', { 'kong-debug': '1' });
      expect(r.status).toBe(200);
      expect(r.headers['kong-service-name']).toBeUndefined();
      expect(r.headers['kong-route-name']).toBeUndefined();
    }
  });
});
