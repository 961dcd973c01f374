// Kong's proxy specs for the traditional_compatible router, one case per Kong `it` where the
// case names one (spec/02-integration/05-proxy/02-router_spec.lua, 03-upstream_headers_spec.lua,
// 35-via_spec.lua), against a real proxy and a real upstream that echoes what it got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { echoServer, plugin, route, service, snapshot, type Echo, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';
import { untrustedHeaderCases } from '../support/kong-upstream-header-cases.ts';

const ROUTER = '02-router_spec.lua';
const HEADERS = '03-upstream_headers_spec.lua';
const VIA_SPEC = '35-via_spec.lua';
let proxy: ProxyServer;
let port: number;
let up: Upstream_;
let via: Upstream_;
let hop: Upstream_;
const ids: Record<string, string> = {};

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string; echo: () => Echo };
/** node's client sends the path as written (no '//' or '..' folding) and repeats array headers. */
function send(path: string, headers: Record<string, string | string[]> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, echo: () => JSON.parse(body) as Echo }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  up = await echoServer();
  via = await echoServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', via: '2 nginx, HTTP/1.1 http_mock' });
    res.end(JSON.stringify({ via: String(req.headers.via) }));
  });
  // Kong's fixture location /hop-by-hop (spec/fixtures/template_inject/nginx_kong_test_custom_inject_http.lua).
  hop = await echoServer((_req, res) => {
    res.writeHead(200, {
      'Keep-Alive': 'timeout=5, max=1000',
      Proxy: 'Remove-Me',
      'Proxy-Connection': 'close',
      'Proxy-Authenticate': 'Basic',
      'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
      TE: 'trailers, deflate;q=0.5',
      Trailer: 'Expires',
      Upgrade: 'example/1, foo/2',
    });
    res.end('hello\r\n\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n');
  });
  const s = () => service({ port: up.port });
  const services = Array.from({ length: 12 }, s);
  const viaService = service({ port: via.port, path: '/via' });
  const hopService = service({ port: hop.port });
  const routes = [
    route(services[0]!, { name: 'mock', hosts: ['mock_upstream'] }),
    route(services[1]!, { name: 'foobar', paths: ['/foo/bar'] }),
    route(services[2]!, { name: 'hello', paths: ['/hello'] }),
    route(services[3]!, { name: 'world', paths: ['/anything/world'], strip_path: false }),
    route(services[4]!, { name: 'inspect', protocols: ['http'], hosts: ['headers-inspect.test'] }),
    route(services[5]!, { name: 'foo', protocols: ['http'], paths: ['/foo'] }),
    route(services[6]!, { name: 'status', protocols: ['http'], paths: ['/status/200'], strip_path: false }),
    route(services[7]!, { name: 'root', protocols: ['http'], paths: ['/'] }),
    route(services[9]!, { name: 'preserved', protocols: ['http'], hosts: ['preserved.test'], preserve_host: true }),
    route(services[8]!, { name: 'location', hosts: ['twice.test'], headers: { location: ['my-location-2'] } }),
    route(viaService, { name: 'via', hosts: ['test.via'] }),
    route(hopService, { name: 'hop', hosts: ['hop.test'] }),
    route(services[10]!, { name: 'proxy-authorization', protocols: ['http'], paths: ['/proxy-authorization'] }),
  ];
  const pa = routes.at(-1)!;
  const plugins = [
    plugin(
      'request-transformer',
      { add: { headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0'] }, replace: { headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0'] } },
      { route: { id: pa.id } },
    ),
  ];
  for (const r of routes) ids[r.name!] = r.id;
  proxy = await createProxyServer({ snapshot: snapshot({ services: [...services, viaService, hopService], routes, plugins }) });
  port = (await proxy.listen(0, '127.0.0.1')).port;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
  await via?.close();
  await hop?.close();
});

describe('02-router_spec: URI arguments', () => {
  it(`${ROUTER}: does proxy an empty querystring if URI does not contain arguments`, async () => {
    const r = await send('/request?', { host: 'mock_upstream' });
    expect(r.status).toBe(200);
    expect(r.echo().url).toMatch(/\/request\?$/);
  });

  it(`${ROUTER}: does proxy a querystring with an empty value`, async () => {
    const r = await send('/get?hello', { host: 'mock_upstream' });
    expect(r.status).toBe(200);
    expect(r.echo().url).toMatch(/\/get\?hello$/);
  });
});

describe('02-router_spec: URI normalization', () => {
  for (const [title, path] of [
    ['matches against normalized URI with ".."', '/foo/a/../bar'],
    ['matches against normalized URI with "//"', '/foo//bar'],
    ['matches against normalized URI with "/./"', '/foo/./bar'],
  ] as const) {
    it(`${ROUTER}: ${title}`, async () => {
      const r = await send(path);
      expect(r.status).toBe(200);
      // The route is the one for /foo/bar (it strips its path, so the upstream sees '/').
      expect(r.echo().url).toBe('/');
      expect(r.echo().headers['x-forwarded-path']).toBe(path);
    });
  }
});

describe('03-upstream_headers_spec', () => {
  it(`${HEADERS}: are removed from request`, async () => {
    const r = await send('/', {
      Connection: 'X-Foo, X-Bar',
      Host: 'headers-inspect.test',
      'Keep-Alive': 'timeout=5, max=1000',
      Proxy: 'Remove-Me',
      'Proxy-Connection': 'close',
      'Proxy-Authenticate': 'Basic',
      'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
      TE: 'trailers, deflate;q=0.5',
      Upgrade: 'example/1, foo/2',
      'X-Foo': 'Remove-Me',
      'X-Bar': 'Remove-Me',
      'X-Foo-Bar': 'Keep-Me',
      Close: 'Keep-Me',
    });
    expect(r.status).toBe(200);
    const h = r.echo().headers;
    expect(h['keep-alive']).toBeUndefined();
    expect(h.proxy).toBeUndefined();
    expect(h['proxy-connection']).toBeUndefined();
    expect(h.upgrade).toBeUndefined();
    expect(h['x-boo']).toBeUndefined();
    expect(h['x-bar']).toBeUndefined();
    // Kong's spec expects the response header Proxy-Authenticate kept; nginx drops it from
    // requests it proxies only as a response header, so it stays.
    expect(h['proxy-authorization']).toBe('Basic YWxhZGRpbjpvcGVuc2VzYW1l');
    expect(h.te).toBe('trailers');
    expect(h['x-foo-bar']).toBe('Keep-Me');
    expect(h.close).toBe('Keep-Me');
  });

  it(`${HEADERS}: are removed from response`, async () => {
    // Kong's client keeps its connection open: the proxy must not answer with a Keep-Alive header.
    const r = await send('/hop-by-hop', { host: 'hop.test', Connection: 'keep-alive' });
    expect(r.status).toBe(200);
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.headers.trailer).toBeUndefined();
    expect(r.headers.upgrade).toBeUndefined();
    expect(r.headers['transfer-encoding']).toBe('chunked');
  });

  it(`${HEADERS}: keeps trailer when requested`, async () => {
    const r = await send('/hop-by-hop', { host: 'hop.test', TE: 'trailers' });
    expect(r.status).toBe(200);
    expect(r.headers.trailer).toBe('Expires');
  });

  it(`${HEADERS}: keeps proxy-authorization header when a plugin specifies it`, async () => {
    let h = (await send('/proxy-authorization', { 'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' })).echo().headers;
    expect(h['proxy-authorization']).toBe('Basic ZGVtbzp0ZXN0');
    h = (await send('/proxy-authorization')).echo().headers;
    expect(h['proxy-authorization']).toBe('Basic ZGVtbzp0ZXN0');
  });

  it(`${HEADERS}: keeps proxy-authorization header if plugin specifies same value as in requests`, async () => {
    const h = (await send('/proxy-authorization', { 'Proxy-Authorization': 'Basic ZGVtbzp0ZXN0' })).echo().headers;
    expect(h['proxy-authorization']).toBe('Basic ZGVtbzp0ZXN0');
  });

  it(`${HEADERS}: X-Forwarded-Path should be added if not present in request`, async () => {
    expect((await send('/', { host: 'headers-inspect.test' })).echo().headers['x-forwarded-path']).toBe('/');
  });

  it(`${HEADERS}: X-Forwarded-Path should be replaced if present in request`, async () => {
    expect((await send('/', { host: 'headers-inspect.test', 'X-Forwarded-Path': '/replaced' })).echo().headers['x-forwarded-path']).toBe('/');
  });

  it(`${HEADERS}: X-Forwarded-Prefix should be added if path was stripped`, async () => {
    expect((await send('/foo/status/200')).echo().headers['x-forwarded-prefix']).toBe('/foo');
  });

  it(`${HEADERS}: X-Forwarded-Prefix should be replaced if present in request and path was stripped`, async () => {
    expect((await send('/foo', { 'X-Forwarded-Prefix': '/replaced' })).echo().headers['x-forwarded-prefix']).toBe('/foo');
  });

  it(`${HEADERS}: X-Forwarded-Prefix should not be added if path was not stripped`, async () => {
    expect((await send('/status/200')).echo().headers['x-forwarded-prefix']).toBeUndefined();
  });

  it(`${HEADERS}: X-Forwarded-Prefix should not be added if / was stripped`, async () => {
    expect((await send('/')).echo().headers['x-forwarded-prefix']).toBeUndefined();
  });
});

describe('03-upstream_headers_spec (using the default configuration values)', () => {
  const inspect = async (extra: Record<string, string> = {}, host = 'headers-inspect.test') => (await send('/', { Host: host, ...extra })).echo().headers;
  const cases = untrustedHeaderCases(() => port);
  for (const [title, extra, header, want] of cases) {
    it(`${HEADERS}: ${title}`, async () => {
      expect((await inspect(extra))[header]).toBe(typeof want === 'function' ? want() : want);
    });
  }

  const sent = { 'X-Real-IP': '10.0.0.1', 'X-Forwarded-For': '10.0.0.1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'example.test', 'X-Forwarded-Port': '80' };
  for (const [title, extra, xff] of [
    ['should be added if not present in request while preserving the downstream host', {}, '127.0.0.1'],
    ['should be added if present in request while preserving the downstream host', sent, '10.0.0.1, 127.0.0.1'],
  ] as const) {
    it(`${HEADERS}: ${title}`, async () => {
      const h = await inspect(extra, 'preserved.test');
      expect(h).toMatchObject({ host: 'preserved.test', 'x-real-ip': '127.0.0.1', 'x-forwarded-for': xff, 'x-forwarded-proto': 'http', 'x-forwarded-host': 'preserved.test', 'x-forwarded-path': '/', 'x-forwarded-port': String(port) });
    });
  }
  for (const [title, extra, xff] of [
    ['should be added if not present in request while discarding the downstream host', {}, '127.0.0.1'],
    ['if present in request while discarding the downstream host', sent, '10.0.0.1, 127.0.0.1'],
  ] as const) {
    it(`${HEADERS}: ${title}`, async () => {
      const h = await inspect(extra);
      expect(h).toMatchObject({ host: `127.0.0.1:${up.port}`, 'x-real-ip': '127.0.0.1', 'x-forwarded-for': xff, 'x-forwarded-proto': 'http', 'x-forwarded-host': 'headers-inspect.test', 'x-forwarded-path': '/', 'x-forwarded-port': String(port) });
    });
  }
});

describe('35-via_spec', () => {
  it(`${VIA_SPEC}: HTTP/1.1 in both the inbound and outbound directions`, async () => {
    const r = await send('/', { host: 'test.via', via: '1.1 dev' });
    expect(r.status).toBe(200);
    const token = (r.headers.via as string).split(', ').at(-1)!;
    expect(token).toMatch(/^1\.1 gossamer\//);
    expect(JSON.parse(r.body)).toEqual({ via: `1.1 dev, ${token}` });
    expect(r.headers.via).toBe(`2 nginx, HTTP/1.1 http_mock, ${token}`);
  });
});

describe('behaviours the issue names without a Kong case of their own', () => {
  it('a header sent twice matches the route on either value (Kong reads every value)', async () => {
    const r = await send('/', { host: 'twice.test', location: ['my-location-1', 'my-location-2'] });
    expect(r.status).toBe(200);
  });

  it("an HTTP/1.1 request without Host gets Kong's 400 body", async () => {
    const a = await rawRequest(port, 'GET / HTTP/1.1\r\n\r\n');
    expect(a.data).toMatch(/^HTTP\/1\.1 400 /);
    const body = a.data.slice(a.data.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body).message).toBe('Bad request');
  });
});
