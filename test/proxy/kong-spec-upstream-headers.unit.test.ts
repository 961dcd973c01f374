// Kong's spec/02-integration/05-proxy/03-upstream_headers_spec.lua, the sections that start Kong
// with trusted_ips, real_ip_header / real_ip_recursive, a proxy_protocol listener or port_maps:
// one vitest case per Kong `it`, against a real proxy (one per section, configured as Kong's
// section configures Kong) and a real upstream that echoes the headers it got. The sections run
// with the default configuration are in kong-spec-proxy.unit.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import type { RealIpOptions } from '../../src/proxy/real-ip.ts';
import { echoServer, plugin, route, service, snapshot, target, upstream, type Upstream_ } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';
import { untrustedHeaderCases, type HeaderCase } from '../support/kong-upstream-header-cases.ts';

const SPEC = '03-upstream_headers_spec.lua';
type Headers = http.IncomingHttpHeaders;

let up: Upstream_;
beforeAll(async () => {
  up = await echoServer();
});
afterAll(async () => {
  await up?.close();
});

/** Kong's start_kong routes (each its own service, the mock upstream) and its request-transformer. */
function kongSnapshot() {
  const s = () => service({ port: up.port });
  const services = Array.from({ length: 6 }, s);
  const routes = [
    route(services[0]!, { protocols: ['http'], hosts: ['headers-inspect.test'] }),
    route(services[1]!, { protocols: ['http'], hosts: ['preserved.test'], preserve_host: true }),
    route(services[2]!, { protocols: ['http'], paths: ['/foo'], strip_path: true }),
    route(services[3]!, { protocols: ['http'], paths: ['/status/200'], strip_path: false }),
    route(services[4]!, { protocols: ['http'], paths: ['/'], strip_path: true }),
    route(services[5]!, { protocols: ['http'], paths: ['/proxy-authorization'], strip_path: true }),
  ];
  const transformer = plugin(
    'request-transformer',
    { add: { headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0'] }, replace: { headers: ['Proxy-Authorization:Basic ZGVtbzp0ZXN0'] } },
    { route: { id: routes[5]!.id } },
  );
  return snapshot({ services, routes, plugins: [transformer] });
}

/** One Kong `start_kong { ... }` section: a proxy with these settings for the section's cases. */
function section(realIp: RealIpOptions, proxyProtocol = false) {
  const s = { proxy: null as ProxyServer | null, port: 0 };
  beforeAll(async () => {
    s.proxy = await createProxyServer({ snapshot: kongSnapshot(), realIp });
    s.port = (await s.proxy.listen(0, '127.0.0.1', false, { proxyProtocol })).port;
  });
  afterAll(async () => {
    await s.proxy?.close();
  });
  return s;
}

/** Kong's request_headers: GET, expect 200, the upstream's view of the headers. */
function requestHeaders(port: number, headers: Record<string, string>, path = '/'): Promise<Headers> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`expected 200, got ${res.statusCode}: ${body}`));
        else resolve((JSON.parse(body) as { headers: Headers }).headers);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const inspect = { Host: 'headers-inspect.test' };

describe('(using the trusted configuration values)', () => {
  const s = section({ trustedIps: ['127.0.0.1'], header: 'x-real-ip', recursive: false });
  const h = (extra: Record<string, string> = {}, path?: string) => requestHeaders(s.port, { ...inspect, ...extra }, path);

  it(`${SPEC}: X-Real-IP should be added if not present in request`, async () => {
    expect((await h())['x-real-ip']).toBe('127.0.0.1');
  });
  it(`${SPEC}: X-Real-IP should be forwarded if present in request`, async () => {
    expect((await h({ 'X-Real-IP': '10.0.0.1' }))['x-real-ip']).toBe('10.0.0.1');
  });
  it(`${SPEC}: X-Forwarded-For should be added if not present in request`, async () => {
    expect((await h())['x-forwarded-for']).toBe('127.0.0.1');
  });
  it(`${SPEC}: X-Forwarded-For should be appended if present in request`, async () => {
    expect((await h({ 'X-Forwarded-For': '10.0.0.1' }))['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
  });
  it(`${SPEC}: X-Forwarded-Proto should be added if not present in request`, async () => {
    expect((await h())['x-forwarded-proto']).toBe('http');
  });
  it(`${SPEC}: X-Forwarded-Proto should be forwarded if present in request`, async () => {
    expect((await h({ 'X-Forwarded-Proto': 'https' }))['x-forwarded-proto']).toBe('https');
  });
  it(`${SPEC}: X-Forwarded-Host should be added if not present in request`, async () => {
    expect((await h())['x-forwarded-host']).toBe('headers-inspect.test');
  });
  it(`${SPEC}: X-Forwarded-Host should be forwarded if present in request`, async () => {
    expect((await h({ 'X-Forwarded-Host': 'example.test' }))['x-forwarded-host']).toBe('example.test');
  });
  it(`${SPEC}: X-Forwarded-Port should be added if not present in request`, async () => {
    expect(Number((await h())['x-forwarded-port'])).toBe(s.port);
  });
  it(`${SPEC}: X-Forwarded-Port should be forwarded if present in request`, async () => {
    expect((await h({ 'X-Forwarded-Port': '80' }))['x-forwarded-port']).toBe('80');
  });
  it(`${SPEC}: X-Forwarded-Path should be added if not present in request`, async () => {
    expect((await h())['x-forwarded-path']).toBe('/');
  });
  it(`${SPEC}: X-Forwarded-Path should be forwarded if present in request`, async () => {
    expect((await h({ 'X-Forwarded-Path': '/original-path' }))['x-forwarded-path']).toBe('/original-path');
  });
  // Kong's spec names both of its X-Forwarded-Prefix cases the same; the first strips /foo.
  it(`${SPEC}: X-Forwarded-Prefix should be preserved even if path was stripped (/foo/status/200)`, async () => {
    expect((await requestHeaders(s.port, { 'x-forwarded-prefix': '/preserved' }, '/foo/status/200'))['x-forwarded-prefix']).toBe('/preserved');
  });
  it(`${SPEC}: X-Forwarded-Prefix should be preserved even if path was stripped (/status/200)`, async () => {
    expect((await requestHeaders(s.port, { 'x-forwarded-prefix': '/preserved' }, '/status/200'))['x-forwarded-prefix']).toBe('/preserved');
  });
});

describe('(using the non-trusted configuration values)', () => {
  const s = section({ trustedIps: ['10.0.0.1'], header: 'x-real-ip', recursive: false });
  const h = (extra: Record<string, string> = {}) => requestHeaders(s.port, { ...inspect, ...extra });
  const cases: HeaderCase[] = [
    ...untrustedHeaderCases(() => s.port),
    ['X-Forwarded-Path should be added if not present in request', {}, 'x-forwarded-path', '/'],
    ['X-Forwarded-Path should be replaced if present in request', { 'X-Forwarded-Path': '/untrusted' }, 'x-forwarded-path', '/'],
  ];
  for (const [title, extra, header, want] of cases) {
    it(`${SPEC}: ${title}`, async () => {
      expect((await h(extra))[header]).toBe(typeof want === 'function' ? want() : want);
    });
  }
  it(`${SPEC}: X-Forwarded-Prefix should be added if path was stripped`, async () => {
    expect((await requestHeaders(s.port, {}, '/foo/status/200'))['x-forwarded-prefix']).toBe('/foo');
  });
  it(`${SPEC}: X-Forwarded-Prefix should be replaced if present in request and path was stripped`, async () => {
    expect((await requestHeaders(s.port, { 'X-Forwarded-Prefix': '/replaced' }, '/foo'))['x-forwarded-prefix']).toBe('/foo');
  });
  it(`${SPEC}: X-Forwarded-Prefix should not be added if path was not stripped`, async () => {
    expect((await requestHeaders(s.port, {}, '/status/200'))['x-forwarded-prefix']).toBeUndefined();
  });
  it(`${SPEC}: X-Forwarded-Prefix should not be added if / was stripped`, async () => {
    expect((await requestHeaders(s.port, {}, '/'))['x-forwarded-prefix']).toBeUndefined();
  });
});

describe('(using the recursive trusted configuration values)', () => {
  const s = section({ trustedIps: ['127.0.0.1', '172.16.0.1', '192.168.0.1'], header: 'x-forwarded-for', recursive: true });
  const h = (extra: Record<string, string> = {}) => requestHeaders(s.port, { ...inspect, ...extra });

  it(`${SPEC}: X-Real-IP and X-Forwarded-For should be added if not present in request`, async () => {
    expect(await h()).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '127.0.0.1' });
  });
  it(`${SPEC}: X-Real-IP and X-Forwarded-For should be changed according to rules if present in request`, async () => {
    const got = await h({ 'X-Forwarded-For': '127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1', 'X-Real-IP': '10.0.0.2' });
    expect(got).toMatchObject({ 'x-real-ip': '10.0.0.1', 'x-forwarded-for': '127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1, 127.0.0.1' });
  });
  it(`${SPEC}: X-Forwarded-Port should be forwarded even if X-Forwarded-For header has a port in it`, async () => {
    const xff = '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18';
    const got = await h({ 'X-Forwarded-For': xff, 'X-Real-IP': '10.0.0.2', 'X-Forwarded-Port': '14' });
    expect(got).toMatchObject({ 'x-real-ip': '10.0.0.1', 'x-forwarded-for': `${xff}, 127.0.0.1`, 'x-forwarded-port': '14' });
  });
  // Kong's `pending("should take a port from X-Forwarded-For header if it has a port in it")` is
  // not run by Kong either.
});

describe('(using the recursive non-trusted configuration values)', () => {
  const s = section({ trustedIps: ['10.0.0.1', '172.16.0.1', '192.168.0.1'], header: 'x-forwarded-for', recursive: true });
  const h = (extra: Record<string, string> = {}) => requestHeaders(s.port, { ...inspect, ...extra });
  const xffPorts = '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18';

  it(`${SPEC}: X-Real-IP and X-Forwarded-For should be added if not present in request`, async () => {
    expect(await h()).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '127.0.0.1' });
  });
  it(`${SPEC}: X-Real-IP and X-Forwarded-For should be changed according to rules if present in request`, async () => {
    const got = await h({ 'X-Forwarded-For': '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1', 'X-Real-IP': '10.0.0.2' });
    expect(got).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1, 127.0.0.1' });
  });
  it(`${SPEC}: X-Forwarded-Port should be replaced even if X-Forwarded-Port and X-Forwarded-For headers have a port in it`, async () => {
    const got = await h({ 'X-Forwarded-For': xffPorts, 'X-Real-IP': '10.0.0.2', 'X-Forwarded-Port': '14' });
    expect(got).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': `${xffPorts}, 127.0.0.1`, 'x-forwarded-port': String(s.port) });
  });
  it(`${SPEC}: X-Forwarded-Port should not take a port from X-Forwarded-For header if it has a port in it`, async () => {
    const got = await h({ 'X-Forwarded-For': xffPorts, 'X-Real-IP': '10.0.0.2' });
    expect(got).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': `${xffPorts}, 127.0.0.1`, 'x-forwarded-port': String(s.port) });
  });
});

/** Kong's raw socket request behind a PROXY protocol v1 line from 192.168.0.1; the upstream's headers. */
async function proxied(port: number, extra: string[] = []): Promise<Headers> {
  const request = [
    `PROXY TCP4 192.168.0.1 127.0.0.1 56324 ${port}`,
    'GET / HTTP/1.1',
    'Host: headers-inspect.test',
    'Connection: close',
    ...extra,
    '',
    '',
  ].join('\r\n');
  const a = await rawRequest(port, request);
  const json = /\{.*\}/s.exec(a.data);
  expect(json, a.data).not.toBeNull();
  return (JSON.parse(json![0]) as { headers: Headers }).headers;
}

describe('(using trusted proxy protocol configuration values)', () => {
  const s = section({ trustedIps: ['127.0.0.1', '172.16.0.1', '192.168.0.1'], header: 'proxy_protocol', recursive: true }, true);

  it(`${SPEC}: X-Real-IP, X-Forwarded-For and X-Forwarded-Port should be added if not present in request`, async () => {
    expect(await proxied(s.port)).toMatchObject({ 'x-real-ip': '192.168.0.1', 'x-forwarded-for': '192.168.0.1', 'x-forwarded-port': String(s.port) });
  });
  it(`${SPEC}: X-Real-IP, X-Forwarded-For and X-Forwarded-Port should be changed according to rules if present in request`, async () => {
    const got = await proxied(s.port, ['X-Real-IP: 10.0.0.2', 'X-Forwarded-For: 10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1']);
    expect(got).toMatchObject({ 'x-real-ip': '192.168.0.1', 'x-forwarded-for': '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1, 127.0.0.1' });
  });
  it(`${SPEC}: X-Forwarded-Port should be forwarded even if proxy protocol and X-Forwarded-For header has a port in it`, async () => {
    const xff = '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18';
    const got = await proxied(s.port, ['X-Real-IP: 10.0.0.2', `X-Forwarded-For: ${xff}`, 'X-Forwarded-Port: 14']);
    expect(got).toMatchObject({ 'x-real-ip': '192.168.0.1', 'x-forwarded-for': `${xff}, 127.0.0.1`, 'x-forwarded-port': '14' });
  });
});

describe('(using non-trusted proxy protocol configuration values)', () => {
  const s = section({ trustedIps: ['10.0.0.1', '172.16.0.1', '192.168.0.1'], header: 'proxy_protocol', recursive: true }, true);

  it(`${SPEC}: X-Real-IP, X-Forwarded-For and X-Forwarded-Port should be added if not present in request`, async () => {
    expect(await proxied(s.port)).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-port': String(s.port) });
  });
  it(`${SPEC}: X-Real-IP, X-Forwarded-For and X-Forwarded-Port should be changed according to rules if present in request`, async () => {
    const got = await proxied(s.port, ['X-Real-IP: 10.0.0.2', 'X-Forwarded-For: 10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1']);
    expect(got).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1, 127.0.0.1' });
  });
  it(`${SPEC}: X-Forwarded-Port should be replaced even if proxy protocol, X-Forwarded-Port and X-Forwarded-For headers have a port in it`, async () => {
    const xff = '127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18';
    const got = await proxied(s.port, ['X-Real-IP: 10.0.0.2', `X-Forwarded-For: ${xff}`, 'X-Forwarded-Port: 14']);
    expect(got).toMatchObject({ 'x-real-ip': '127.0.0.1', 'x-forwarded-for': `${xff}, 127.0.0.1`, 'x-forwarded-port': String(s.port) });
  });
});

describe('(using port maps configuration)', () => {
  const s = { proxy: null as ProxyServer | null, port: 0 };
  beforeAll(async () => {
    // Kong maps host port 80 to its proxy port; the proxy's port is only known once it listens,
    // so the second proxy maps 80 to the first one's (freed) port and listens there.
    const probe = await createProxyServer({ snapshot: kongSnapshot() });
    const port = (await probe.listen(0, '127.0.0.1')).port;
    await probe.close();
    s.proxy = await createProxyServer({ snapshot: kongSnapshot(), realIp: { trustedIps: [], header: 'x-real-ip', recursive: false, portMaps: { [port]: 80 } } });
    s.port = (await s.proxy.listen(port, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await s.proxy?.close();
  });

  it(`${SPEC}: X-Forwarded-Port should be added if not present in request`, async () => {
    expect((await requestHeaders(s.port, inspect))['x-forwarded-port']).toBe('80');
  });
  it(`${SPEC}: X-Forwarded-Port should be replaced if present in request`, async () => {
    expect((await requestHeaders(s.port, { ...inspect, 'X-Forwarded-Port': '81' }))['x-forwarded-port']).toBe('80');
  });
});

describe('hop-by-hop headers (an Upgrade the upstream does not take)', () => {
  const s = section({ trustedIps: [], header: 'x-real-ip', recursive: false });

  it(`${SPEC}: keeps upgrade when upgrading`, async () => {
    // Kong's mock upstream answers /get with 200 and the headers it got: the request went on
    // with its Connection and Upgrade, and the answer came back as an ordinary response.
    const got = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, path: '/get', agent: false, headers: { Host: 'headers-inspect.test', Connection: 'keep-alive, Upgrade', Upgrade: 'websocket' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('upgrade', () => reject(new Error('the upstream did not switch protocols')));
      req.on('error', reject);
      req.end();
    });
    expect(got.status).toBe(200);
    const h = (JSON.parse(got.body) as { headers: Headers }).headers;
    expect(h.connection).toBe('keep-alive, Upgrade');
    expect(h.upgrade).toBe('websocket');
  });
});

describe('(response from upstream) Content-Type', () => {
  // Kong's section starts Kong with nginx_http_charset = off; Gossamer never adds a charset.
  let typed: Upstream_;
  let proxy: ProxyServer;
  let port = 0;
  beforeAll(async () => {
    typed = await echoServer((req, res) => {
      res.writeHead(200, { 'content-type': req.url === '/charset' ? 'text/plain; charset=utf-8' : 'text/plain' });
      res.end('Hello World!\n');
    });
    const svc = service({ port: typed.port });
    proxy = await createProxyServer({ snapshot: snapshot({ services: [svc], routes: [route(svc, { hosts: ['headers-charset.test'] })] }) });
    port = (await proxy.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await proxy?.close();
    await typed?.close();
  });
  const contentType = (path: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Host: 'headers-charset.test' } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.resume();
        res.on('end', () => resolve(res.headers['content-type']));
      }).on('error', reject);
    });

  it(`${SPEC}: does not add charset if the response from upstream contains no charset when charset is turned off`, async () => {
    expect(await contentType('/nocharset')).toBe('text/plain');
  });
  it(`${SPEC}: charset remain unchanged if the response from upstream contains charset when charset is turned off`, async () => {
    expect(await contentType('/charset')).toBe('text/plain; charset=utf-8');
  });
});

describe('host_header should be set correctly', () => {
  let flaky: Upstream_;
  let proxy: ProxyServer;
  let port = 0;
  beforeAll(async () => {
    // Kong's fixture server: every odd request has its connection closed, every even one gets
    // the Host it was sent.
    let count = 0;
    flaky = await echoServer((req, res) => {
      if (++count % 2 !== 0) return void req.socket.destroy();
      res.end(req.headers.host);
    });
    const u = upstream('foo', { host_header: 'foo.com' });
    const svc = service({ name: 'retry_service', host: 'foo', port: 80, retries: 5 });
    proxy = await createProxyServer({
      snapshot: snapshot({ services: [svc], routes: [route(svc, { paths: ['/hello'], strip_path: false })], upstreams: [u], targets: [target(u, `127.0.0.1:${flaky.port}`, 50)] }),
    });
    port = (await proxy.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await proxy?.close();
    await flaky?.close();
  });

  it(`${SPEC}: when retries to upstream happen`, async () => {
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
        let b = '';
        expect(res.statusCode).toBe(200);
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    expect(body).toBe('foo.com');
  });
});
