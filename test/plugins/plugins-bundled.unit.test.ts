// Each bundled plugin's behaviour and error bodies through a real proxy and upstream, and
// Kong's plugin scoping precedence.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { registry as metricsRegistry } from '../../src/plugins/prometheus/metrics.ts';
import { validatePluginConfig, availablePlugins } from '../../src/plugins/registry.ts';
import { consumer, echoServer, get, keyauth, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
let up: Upstream_;

const alice = consumer('alice');
const bob = consumer('bob');
const anon = consumer('anonymous');

beforeAll(async () => {
  up = await echoServer();
  const s = service({ name: 'svc', port: up.port });
  const other = service({ name: 'other', port: up.port });
  const rKey = route(s, { name: 'key', paths: ['/key'] });
  const rHide = route(s, { name: 'hide', paths: ['/hide'] });
  const rAnon = route(s, { name: 'anon', paths: ['/anon'] });
  const rRate = route(s, { name: 'rate', paths: ['/rate'] });
  const rScoped = route(s, { name: 'scoped', paths: ['/scoped'] });
  const rOther = route(other, { name: 'other', paths: ['/other'] });
  const rCors = route(s, { name: 'cors', paths: ['/cors'] });
  const rTrans = route(s, { name: 'trans', paths: ['/trans'] });
  const rIp = route(s, { name: 'ip', paths: ['/ip'] });
  const rSize = route(s, { name: 'size', paths: ['/size'] });
  const rProm = route(s, { name: 'prom', paths: ['/prom'] });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [s, other],
      routes: [rKey, rHide, rAnon, rRate, rScoped, rOther, rCors, rTrans, rIp, rSize, rProm],
      consumers: [alice, bob, anon],
      keyauth_credentials: [keyauth(alice, 'alice-key'), keyauth(bob, 'bob-key')],
      plugins: [
        plugin('key-auth', {}, { route: { id: rKey.id } }),
        plugin('key-auth', { hide_credentials: true, key_names: ['apikey', 'x-token'] }, { route: { id: rHide.id } }),
        plugin('key-auth', { anonymous: anon.id }, { route: { id: rAnon.id } }),
        plugin('rate-limiting', { minute: 3, limit_by: 'ip' }, { route: { id: rRate.id } }),
        // Precedence: global < service < route < consumer+route for request-transformer headers.
        plugin('request-transformer', { add: { headers: ['x-scope:global'] } }),
        plugin('request-transformer', { add: { headers: ['x-scope:service'] } }, { service: { id: s.id } }),
        plugin('request-transformer', { add: { headers: ['x-scope:route'] } }, { route: { id: rScoped.id } }),
        plugin('request-transformer', { add: { headers: ['x-scope:consumer-route'] } }, { route: { id: rScoped.id }, consumer: { id: bob.id } }),
        plugin('key-auth', { anonymous: anon.id }, { route: { id: rScoped.id } }),
        plugin('cors', { origins: ['https://a.example', 'https://b.example'], credentials: true, max_age: 600, exposed_headers: ['x-upstream'] }, { route: { id: rCors.id } }),
        plugin(
          'request-transformer',
          {
            remove: { headers: ['x-drop'], querystring: ['drop'] },
            rename: { headers: ['x-old:x-new'] },
            replace: { headers: ['x-rep:replaced'] },
            add: { headers: ['x-added:yes'], querystring: ['q:1'] },
            append: { headers: ['x-app:two'] },
          },
          { route: { id: rTrans.id } },
        ),
        plugin('response-transformer', { remove: { headers: ['x-upstream'] }, add: { headers: ['x-resp:added'] } }, { route: { id: rTrans.id } }),
        plugin('ip-restriction', { deny: ['127.0.0.0/8'] }, { route: { id: rIp.id } }),
        plugin('request-size-limiting', { allowed_payload_size: 10, size_unit: 'bytes' }, { route: { id: rSize.id } }),
        plugin('prometheus', { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true }, { route: { id: rProm.id } }),
      ],
    }),
  });
  const a = await proxy.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

describe('registry and schemas', () => {
  test('every bundled plugin is registered and fills Kong defaults', () => {
    expect(availablePlugins()).toEqual(
      ['acl', 'basic-auth', 'bot-detection', 'correlation-id', 'cors', 'file-log', 'hmac-auth', 'http-log', 'ip-restriction', 'jwt', 'key-auth', 'prometheus', 'proxy-cache', 'rate-limiting', 'request-size-limiting', 'request-termination', 'request-transformer', 'response-ratelimiting', 'response-transformer'],
    );
    const ka = validatePluginConfig('key-auth', {});
    expect(ka.ok && ka.config).toMatchObject({ key_names: ['apikey'], hide_credentials: false, key_in_header: true, key_in_query: true });
    const rl = validatePluginConfig('rate-limiting', {});
    expect(rl.ok).toBe(false);
    const rl2 = validatePluginConfig('rate-limiting', { minute: 'x' });
    expect(rl2.ok === false && rl2.fields).toHaveProperty('minute');
  });
});

describe('key-auth', () => {
  test('401 without a key, 401 with a wrong key, 200 with a right key (header or query)', async () => {
    const none = await get(`${base}/key`);
    expect(none.status).toBe(401);
    expect(none.json().message).toBe('No API key found in request');
    expect(none.headers['www-authenticate']).toMatch(/^Key realm=/);
    const bad = await get(`${base}/key`, { headers: { apikey: 'nope' } });
    expect(bad.status).toBe(401);
    expect(bad.json().message).toBe('Invalid authentication credentials');
    const ok = await get(`${base}/key`, { headers: { apikey: 'alice-key' } });
    expect(ok.status).toBe(200);
    expect(ok.json().headers['x-consumer-username']).toBe('alice');
    expect(ok.json().headers['x-consumer-id']).toBe(alice.id);
    expect(ok.json().headers.apikey).toBe('alice-key');
    const q = await get(`${base}/key?apikey=bob-key&z=1`);
    expect(q.json().headers['x-consumer-username']).toBe('bob');
  });

  test('hide_credentials removes the key from header and query', async () => {
    const h = await get(`${base}/hide`, { headers: { 'x-token': 'alice-key' } });
    expect(h.json().headers['x-token']).toBeUndefined();
    const q = await get(`${base}/hide?a=1&apikey=alice-key`);
    expect(q.json().url).toBe('/?a=1');
  });

  test('anonymous consumer when no key is given', async () => {
    const r = await get(`${base}/anon`);
    expect(r.status).toBe(200);
    expect(r.json().headers['x-anonymous-consumer']).toBe('true');
    expect(r.json().headers['x-consumer-username']).toBe('anonymous');
  });
});

describe('rate-limiting', () => {
  test('limit per minute with Kong headers, then 429', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await get(`${base}/rate`);
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers['x-ratelimit-limit-minute']).toBe('3');
        expect(last.headers['x-ratelimit-remaining-minute']).toBe('2');
        expect(last.headers['ratelimit-limit']).toBe('3');
        expect(last.headers['ratelimit-remaining']).toBe('2');
        expect(Number(last.headers['ratelimit-reset'])).toBeGreaterThan(0);
      }
    }
    // The minute may roll over between requests; at most one extra request passes then.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(statuses[0] === 200 ? 0 : 1);
    if (statuses[3] === 429) {
      expect(last!.json().message).toBe('API rate limit exceeded');
      expect(last!.headers['retry-after']).toBeDefined();
      expect(last!.headers['x-ratelimit-remaining-minute']).toBe('0');
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
  });
});

describe('scoping precedence', () => {
  test('route beats service beats global; consumer+route beats route', async () => {
    expect((await get(`${base}/other`)).json().headers['x-scope']).toBe('global');
    expect((await get(`${base}/key`, { headers: { apikey: 'alice-key' } })).json().headers['x-scope']).toBe('service');
    expect((await get(`${base}/scoped`)).json().headers['x-scope']).toBe('route');
    expect((await get(`${base}/scoped`, { headers: { apikey: 'bob-key' } })).json().headers['x-scope']).toBe('consumer-route');
    expect((await get(`${base}/scoped`, { headers: { apikey: 'alice-key' } })).json().headers['x-scope']).toBe('route');
  });
});

describe('cors', () => {
  test('preflight answered by the gateway', async () => {
    const hitsBefore = up.hits;
    const r = await get(`${base}/cors/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://b.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a' },
    });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://b.example');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-headers']).toBe('x-a');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(String(r.headers['access-control-allow-methods'])).toContain('PUT');
    expect(up.hits).toBe(hitsBefore);
  });
  test('simple request gets allow-origin and expose-headers; unknown origin gets none', async () => {
    const r = await get(`${base}/cors/x`, { headers: { origin: 'https://a.example' } });
    expect(r.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(r.headers['access-control-expose-headers']).toBe('x-upstream');
    const no = await get(`${base}/cors/x`, { headers: { origin: 'https://evil.example' } });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('transformers', () => {
  test('request-transformer edits headers and query; response-transformer edits response headers', async () => {
    const r = await get(`${base}/trans/p?drop=1&keep=2`, { headers: { 'x-drop': '1', 'x-old': 'o', 'x-rep': 'r', 'x-app': 'one' } });
    const e = r.json();
    expect(e.headers['x-drop']).toBeUndefined();
    expect(e.headers['x-old']).toBeUndefined();
    expect(e.headers['x-new']).toBe('o');
    expect(e.headers['x-rep']).toBe('replaced');
    expect(e.headers['x-added']).toBe('yes');
    expect(e.headers['x-app']).toBe('one, two');
    expect(e.url).toBe('/p?keep=2&q=1');
    expect(r.headers['x-upstream']).toBeUndefined();
    expect(r.headers['x-resp']).toBe('added');
  });
});

describe('ip-restriction and request-size-limiting', () => {
  test('denied address gets 403 with Kong body', async () => {
    const r = await get(`${base}/ip`);
    expect(r.status).toBe(403);
    expect(r.json().message).toBe('Your IP address is not allowed');
  });
  test('413 over the limit by Content-Length and by streamed chunked body', async () => {
    expect((await get(`${base}/size`, { method: 'POST', body: 'short' })).status).toBe(200);
    const big = await get(`${base}/size`, { method: 'POST', body: 'this is more than ten bytes' });
    expect(big.status).toBe(413);
    expect(big.json().message).toBe('Request size limit exceeded');
    const { Readable } = await import('node:stream');
    const chunked = await request(`${base}/size`, { method: 'POST', body: Readable.from([Buffer.from('0123456789'), Buffer.from('abcdef')]) });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.dump();
  });
});

describe('prometheus', () => {
  test('counts requests and latencies under gossamer_ names', async () => {
    await get(`${base}/prom`);
    await get(`${base}/prom`);
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(/gossamer_http_requests_total\{service="svc",route="prom",code="200",source="service",consumer=""\} 2/);
    expect(text).toMatch(/gossamer_latency_ms_bucket\{le="\+Inf",service="svc",route="prom",type="request"\} 2/);
    expect(text).toMatch(/gossamer_bandwidth_bytes\{service="svc",route="prom",direction="egress",consumer=""\} \d+/);
  });
});
