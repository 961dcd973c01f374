// response-ratelimiting through a real proxy and a real upstream that sets X-Kong-Limit, cases
// translated from Kong's spec/03-plugins/24-response-rate-limiting/04-access_spec.lua (policy
// local) and 01-schema_spec.lua / 06-shorthand_fields_spec.lua. Kong's specs count per second;
// here the limits are per hour (and minute), so a window boundary never falls inside a case.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { parseIncrements } from '../../src/plugins/response-ratelimiting/handler.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';
import { consumer, echoServer, get, keyauth, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';

const ITERATIONS = 6;
let proxy: ProxyServer;
let base: string;
let upstream: Upstream_;

/** Kong's mock upstream: /response-headers sets each query argument as a response header; the body echoes the request headers. */
function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const headers: [string, string][] = [['content-type', 'application/json']];
  if (url.pathname === '/response-headers') for (const [k, v] of url.searchParams) if (k !== 'apikey') headers.push([k, v]);
  res.writeHead(200, headers.flat());
  res.end(JSON.stringify({ headers: req.headers }));
}

beforeAll(async () => {
  upstream = await echoServer(answer);
  const svc = service({ port: upstream.port });
  const svc2 = service({ port: upstream.port });
  const r = (h: string, s = svc) => route(s, { hosts: [h] });
  const routes = { t1: r('test1.test'), t1b: r('test1b.test'), t2: r('test2.test'), t3: r('test3.test'), t4: r('test4.test'), t7: r('test7.test'), t8: r('test8.test'), t9: r('test9.test'), s1: r('test-service1.test', svc2), s2: r('test-service2.test', svc2) };
  const bob = consumer('bob');
  const on = (rt: { id: string }, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => plugin('response-ratelimiting', config, { route: { id: rt.id }, ...extra });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [svc, svc2],
      routes: Object.values(routes),
      consumers: [bob],
      keyauth_credentials: [keyauth(bob, 'apikey123')],
      plugins: [
        on(routes.t1, { limits: { video: { hour: ITERATIONS } } }),
        on(routes.t1b, { limits: { video: { hour: ITERATIONS } } }),
        on(routes.t2, { limits: { video: { hour: ITERATIONS * 2, day: ITERATIONS * 4 }, image: { hour: ITERATIONS } } }),
        plugin('key-auth', {}, { route: { id: routes.t3.id } }),
        on(routes.t3, { limits: { video: { hour: ITERATIONS - 2 } } }),
        on(routes.t4, { limits: { video: { hour: ITERATIONS * 2 }, image: { hour: ITERATIONS } } }),
        on(routes.t7, { block_on_first_violation: true, limits: { video: { hour: ITERATIONS, day: ITERATIONS * 2 }, image: { hour: 4 } } }),
        on(routes.t8, { limits: { video: { hour: ITERATIONS * 2, day: ITERATIONS * 4 }, image: { hour: ITERATIONS - 1 } } }),
        on(routes.t9, { hide_client_headers: true, limits: { video: { hour: ITERATIONS } } }),
        plugin('response-ratelimiting', { limits: { video: { hour: ITERATIONS } } }, { service: { id: svc2.id } }),
      ],
    }),
  });
  base = `http://127.0.0.1:${(await proxy.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
});

const call = (host: string, path: string) => get(`${base}${path}`, { headers: { host } });
const limited = (spec: string) => `/response-headers?x-kong-limit=${encodeURIComponent(spec)}`;
const num = (v: string | string[] | undefined) => Number(v);

async function testLimit(host: string, path: string, limit = ITERATIONS): Promise<void> {
  for (let i = 0; i < limit; i++) expect((await call(host, path)).status).toBe(200);
  const res = await call(host, path);
  expect(res.status).toBe(429);
  expect(num(res.headers['x-ratelimit-limit-video-hour'])).toBe(limit);
  expect(num(res.headers['x-ratelimit-remaining-video-hour'])).toBe(0);
  expect(res.text).toBe('');
}

describe('Plugin: response-ratelimiting (access) with policy: local (spec/03-plugins/24-response-rate-limiting/04-access_spec.lua)', () => {
  describe('Without authentication (IP address)', () => {
    test('returns remaining counter', async () => {
      const n = Math.floor(ITERATIONS / 2);
      for (let i = 0; i < n; i++) expect((await call('test1.test', limited('video=1'))).status).toBe(200);
      const res = await call('test1.test', limited('video=1'));
      expect(res.status).toBe(200);
      expect(num(res.headers['x-ratelimit-limit-video-hour'])).toBe(ITERATIONS);
      expect(num(res.headers['x-ratelimit-remaining-video-hour'])).toBe(ITERATIONS - n - 1);
      // the upstream's own header is not passed on
      expect(res.headers['x-kong-limit']).toBeUndefined();
    });

    test('blocks if exceeding limit', async () => {
      await testLimit('test1b.test', limited('video=1'));
    });

    test('counts against the same service register from different routes', async () => {
      const url = limited(`video=1, test=${ITERATIONS}`);
      const n = Math.floor(ITERATIONS / 2);
      for (let i = 0; i < n; i++) expect((await call('test-service1.test', url)).status).toBe(200);
      for (let i = n; i < ITERATIONS; i++) expect((await call('test-service2.test', url)).status).toBe(200);
      expect((await call('test-service1.test', url)).status).toBe(429);
    });

    test('handles multiple limits', async () => {
      const n = Math.floor(ITERATIONS / 2);
      let remainHour = ITERATIONS * 2;
      let remainDay = ITERATIONS * 4;
      let res = await call('test2.test', limited('video=2, image=1'));
      for (let i = 1; i < n; i++) res = await call('test2.test', limited('video=2, image=1'));
      remainHour -= 2 * n;
      remainDay -= 2 * n;
      expect(num(res.headers['x-ratelimit-limit-video-hour'])).toBe(ITERATIONS * 2);
      expect(num(res.headers['x-ratelimit-remaining-video-hour'])).toBe(remainHour);
      expect(num(res.headers['x-ratelimit-limit-video-day'])).toBe(ITERATIONS * 4);
      expect(num(res.headers['x-ratelimit-remaining-video-day'])).toBe(remainDay);
      expect(num(res.headers['x-ratelimit-limit-image-hour'])).toBe(ITERATIONS);
      expect(num(res.headers['x-ratelimit-remaining-image-hour'])).toBe(ITERATIONS - n);
      for (let i = n; i < ITERATIONS; i++) {
        res = await call('test2.test', limited('video=1, image=1'));
        expect(res.status).toBe(200);
        remainHour -= 1;
        remainDay -= 1;
      }
      expect(num(res.headers['x-ratelimit-remaining-image-hour'])).toBe(0);
      expect(num(res.headers['x-ratelimit-remaining-video-hour'])).toBe(remainHour);
      res = await call('test2.test', limited('video=1, image=1'));
      expect(res.status).toBe(429);
      expect(num(res.headers['x-ratelimit-remaining-image-hour'])).toBe(0);
      expect(num(res.headers['x-ratelimit-remaining-video-hour'])).toBe(remainHour - 1);
      expect(num(res.headers['x-ratelimit-remaining-video-day'])).toBe(remainDay - 1);
    });
  });

  describe('With authentication', () => {
    test('blocks if exceeding limit and a per consumer & route setting', async () => {
      await testLimit('test3.test', `${limited('video=1')}&apikey=apikey123`, ITERATIONS - 2);
    });
  });

  describe('Upstream usage headers', () => {
    test('should append the headers with multiple limits', async () => {
      let res = await call('test8.test', '/get');
      let up = res.json<{ headers: Record<string, string> }>().headers;
      expect(num(up['x-ratelimit-remaining-image'])).toBe(ITERATIONS - 1);
      expect(num(up['x-ratelimit-remaining-video'])).toBe(ITERATIONS * 2);
      res = await call('test8.test', limited('video=2, image=1'));
      up = res.json<{ headers: Record<string, string> }>().headers;
      expect(num(up['x-ratelimit-remaining-image'])).toBe(ITERATIONS - 1);
      res = await call('test8.test', '/get');
      up = res.json<{ headers: Record<string, string> }>().headers;
      expect(num(up['x-ratelimit-remaining-image'])).toBe(ITERATIONS - 2);
      expect(num(up['x-ratelimit-remaining-video'])).toBe(ITERATIONS * 2 - 2);
    });

    test('combines multiple x-kong-limit headers from upstream', async () => {
      for (let i = 0; i < ITERATIONS; i++) {
        const r = await call('test4.test', '/response-headers?x-kong-limit=video%3D2&x-kong-limit=image%3D1');
        expect(r.status).toBe(200);
      }
      const res = await call('test4.test', '/response-headers?x-kong-limit=video%3D2&x-kong-limit=image%3D1');
      expect(res.status).toBe(429);
      expect(num(res.headers['x-ratelimit-remaining-image-hour'])).toBe(0);
    });
  });

  test('should block on first violation', async () => {
    expect((await call('test7.test', limited('video=2, image=4'))).status).toBe(200);
    const res = await call('test7.test', limited('video=2'));
    expect(res.status).toBe(429);
    expect(res.json().message).toMatch(/API rate limit exceeded for 'image'/);
  });

  describe('Config with hide_client_headers', () => {
    test('does not send rate-limit headers when hide_client_headers==true', async () => {
      const res = await call('test9.test', '/status/200');
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-remaining-video-hour']).toBeUndefined();
      expect(res.headers['x-ratelimit-limit-video-hour']).toBeUndefined();
    });
  });
});

describe('parse_header', () => {
  test('only configured limits, trimmed, a repeated header read whole', () => {
    expect([...parseIncrements('video=1, image = 3, other=9, bad', { video: 1, image: 1 })]).toEqual([['video', 1], ['image', 3]]);
    expect([...parseIncrements(['video=2', 'image=1'], { video: 1, image: 1 })]).toEqual([['video', 2], ['image', 1]]);
  });
});

describe('schema (spec/03-plugins/24-response-rate-limiting/01-schema_spec.lua, 06-shorthand_fields_spec.lua)', () => {
  const v = (c: Record<string, unknown>) => validatePluginConfig('response-ratelimiting', c);
  test('proper config validates', () => {
    expect(v({ limits: { video: { second: 1 } } }).ok).toBe(true);
  });
  test('limits: smaller unit is less than bigger unit', () => {
    const r = v({ limits: { video: { second: 2, minute: 1 } } });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toContain('the limit for minute(1.0) cannot be lower than the limit for second(2.0)');
  });
  test('invalid limit', () => {
    expect(v({ limits: { video: {} } }).ok).toBe(false);
    expect(v({ limits: { video: { second: -1 } } }).ok).toBe(false);
    expect(v({ limits: {} }).ok).toBe(false);
  });
  test('redis policy needs a host; the flat redis_* fields fill the redis record', () => {
    expect(JSON.stringify(v({ policy: 'redis', limits: { video: { second: 1 } } }))).toContain('required field missing');
    const r = v({ policy: 'redis', redis_host: 'localhost', redis_port: 16379, redis_timeout: 500, limits: { video: { second: 1 } } });
    expect(r).toMatchObject({ ok: true, config: { redis: { host: 'localhost', port: 16379, timeout: 500, database: 0 } } });
    expect(JSON.stringify(r)).not.toContain('redis_host');
  });
});
