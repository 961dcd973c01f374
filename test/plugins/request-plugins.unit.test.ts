// correlation-id, request-termination and bot-detection in a real proxy (in process) in front of
// a real upstream, configured by snapshot. Kong's spec/03-plugins/11-correlation-id,
// 14-request-termination and 21-bot-detection translated: each test names its `it`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { freePort } from '../../src/db/embedded.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';
import { consumer, echoServer, get, keyauth, plugin, route, service, snapshot, type Res, type Upstream_ } from '../support/proxy-fixtures.ts';

let proxy: ProxyServer;
let base: string;
let port: number;
let up: Upstream_;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_COUNTER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}#(\d+)$/;
const TRACKER = /^\d+\.\d+\.\d+\.\d+-\d+-\d+-\d+-\d+-\d{10}\.\d{3}$/;
const FACEBOOK = 'facebookexternalhit/1.1';
const HELLOWORLD = 'HelloWorld';
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36';
const termConsumer = consumer('term-consumer');
let regexRoute: ReturnType<typeof route>;

const call = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Res> => get(`${base}${path}`, { headers, method, body });

beforeAll(async () => {
  up = await echoServer();
  const s = service({ name: 'svc', port: up.port });
  const dead = service({ name: 'dead', port: await freePort(), retries: 0 });
  const r = (name: string, svc = s) => route(svc, { name, paths: [`/${name}`] });
  const routes = {
    correlation1: r('correlation1'),
    correlation2: r('correlation2'),
    correlation3: r('correlation3'),
    tracker: r('tracker'),
    correlation5: r('correlation5'),
    timeout: r('timeout', dead),
    term1: r('term1'),
    term2: r('term2'),
    term3: r('term3'),
    term4: r('term4'),
    term5: r('term5'),
    term6: r('term6'),
    term7: route(null, { name: 'term7', paths: ['/term7'] }),
    term8: r('term8'),
    term10: r('term10'),
    termConsumer: r('term-consumer'),
    bot: r('bot'),
    bot2: r('bot2'),
    bot3: r('bot3'),
  };
  regexRoute = route(s, { name: 'term9', paths: ['~/term9/(?<parameter>[^#?/]+)/200'], strip_path: false });
  const onRoute = (name: string, config: Record<string, unknown>, rt: { id: string }) => plugin(name, config, { route: { id: rt.id } });
  proxy = await createProxyServer({
    snapshot: snapshot({
      services: [s, dead],
      routes: [...Object.values(routes), regexRoute],
      consumers: [termConsumer],
      keyauth_credentials: [keyauth(termConsumer, 'kong')],
      plugins: [
        onRoute('correlation-id', {}, routes.correlation1),
        onRoute('correlation-id', { header_name: 'Foo-Bar-Id' }, routes.correlation2),
        onRoute('correlation-id', { generator: 'uuid', echo_downstream: true }, routes.correlation3),
        onRoute('correlation-id', { generator: 'tracker' }, routes.tracker),
        onRoute('correlation-id', { generator: 'uuid', echo_downstream: true }, routes.correlation5),
        onRoute('request-termination', { status_code: 418, message: "I'm a teapot" }, routes.correlation5),
        onRoute('correlation-id', { generator: 'uuid', echo_downstream: true }, routes.timeout),
        onRoute('request-termination', {}, routes.term1),
        onRoute('request-termination', { status_code: 404 }, routes.term2),
        onRoute('request-termination', { status_code: 406, message: 'Invalid' }, routes.term3),
        onRoute('request-termination', { body: '<html><body><h1>Service is down for maintenance</h1></body></html>' }, routes.term4),
        onRoute('request-termination', { status_code: 451, content_type: 'text/html', body: '<html><body><h1>Service is down due to content infringement</h1></body></html>' }, routes.term5),
        onRoute('request-termination', { status_code: 503, body: '{"code": 1, "message": "Service unavailable"}' }, routes.term6),
        onRoute('request-termination', {}, routes.term7),
        onRoute('request-termination', { status_code: 204 }, routes.term8),
        onRoute('request-termination', { echo: true, status_code: 404 }, regexRoute),
        onRoute('request-termination', { echo: true, trigger: 'gimme-an-echo', status_code: 404 }, routes.term10),
        onRoute('key-auth', {}, routes.termConsumer),
        plugin('request-termination', {}, { consumer: { id: termConsumer.id } }),
        onRoute('bot-detection', {}, routes.bot),
        onRoute('bot-detection', { deny: [HELLOWORLD] }, routes.bot2),
        onRoute('bot-detection', { allow: [FACEBOOK] }, routes.bot3),
      ],
    }),
  });
  port = (await proxy.listen(0, '127.0.0.1')).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await proxy?.close();
  await up?.close();
});

describe('Plugin: correlation-id (access) — spec/03-plugins/11-correlation-id/01-access_spec.lua', () => {
  test('uuid-worker generator: increments the counter part', async () => {
    const id1 = (await call('/correlation1')).json().headers['kong-request-id'] as string;
    const id2 = (await call('/correlation1')).json().headers['kong-request-id'] as string;
    expect(id1).toMatch(UUID_COUNTER);
    expect(id2).toMatch(UUID_COUNTER);
    expect(Number(UUID_COUNTER.exec(id2)![1])).toBe(Number(UUID_COUNTER.exec(id1)![1]) + 1);
    expect(id1.split('#')[0]).toBe(id2.split('#')[0]);
  });
  test('uuid generator: generates a unique UUID for every request', async () => {
    const id1 = (await call('/correlation3')).json().headers['kong-request-id'];
    const id2 = (await call('/correlation3')).json().headers['kong-request-id'];
    expect(id1).toMatch(UUID);
    expect(id2).toMatch(UUID);
    expect(id1).not.toBe(id2);
  });
  test('tracker generator: generates a unique tracker id for every request', async () => {
    const id1 = (await call('/tracker')).json().headers['kong-request-id'] as string;
    const id2 = (await call('/tracker')).json().headers['kong-request-id'] as string;
    expect(id1).toMatch(TRACKER);
    expect(id2).toMatch(TRACKER);
    expect(id1).not.toBe(id2);
    expect(id1.startsWith(`127.0.0.1-${port}-${process.pid}-`)).toBe(true);
  });
  test('config options: echo_downstream sends uuid back to client', async () => {
    const r = await call('/correlation3');
    expect(r.json().headers['kong-request-id']).toMatch(UUID);
    expect(r.headers['kong-request-id']).toBe(r.json().headers['kong-request-id']);
  });
  test('echo_downstream sends uuid back to client even when upstream timeouts (here: refuses)', async () => {
    const r = await call('/timeout');
    expect(r.status).toBe(502);
    expect(r.headers['kong-request-id']).toMatch(UUID);
  });
  test('echo_downstream does not send uuid back to client if not asked; uses a custom header name', async () => {
    const r = await call('/correlation2');
    expect([r.status, r.headers['kong-request-id'], r.headers['foo-bar-id']]).toEqual([200, undefined, undefined]);
    expect(r.json().headers['foo-bar-id']).toMatch(UUID_COUNTER);
  });
  test('preserves an already existing header; does not preserve an already existing empty header', async () => {
    expect((await call('/correlation1', { 'Kong-Request-ID': 'foobar' })).json().headers['kong-request-id']).toBe('foobar');
    expect((await call('/correlation1', { 'Kong-Request-ID': '' })).json().headers['kong-request-id']).toMatch(UUID_COUNTER);
    expect((await call('/correlation1', { 'Kong-Request-ID': ' ' })).json().headers['kong-request-id']).not.toBe('foobar');
  });
  test('executes with echo_downstream when access did not execute; echoes incoming', async () => {
    const r = await call('/correlation5');
    expect([r.status, r.json().message]).toEqual([418, "I'm a teapot"]);
    expect(r.headers['kong-request-id']).toMatch(UUID);
    expect((await call('/correlation5', { 'kong-request-id': 'my very personal id' })).headers['kong-request-id']).toBe('my very personal id');
  });
});

describe('Plugin: correlation-id (schema) — 02-schema_spec.lua', () => {
  test('requried field must be included', () => {
    const r = validatePluginConfig('correlation-id', { generator: null });
    expect(r.ok || r.fields.generator).toBe('required field missing');
  });
  test('Kong defaults', () => {
    expect(validatePluginConfig('correlation-id', {})).toEqual({ ok: true, config: { header_name: 'Kong-Request-ID', generator: 'uuid#counter', echo_downstream: false } });
  });
});

describe('Plugin: request-termination (schema) — spec/03-plugins/14-request-termination/01-schema_spec.lua', () => {
  const ok = (c: Record<string, unknown>) => validatePluginConfig('request-termination', c).ok;
  const err = (c: Record<string, unknown>) => {
    const r = validatePluginConfig('request-termination', c);
    return r.ok ? null : r.fields;
  };
  test('should accept a valid status_code, message, content_type, body, trigger', () => {
    expect([ok({ status_code: 404 }), ok({ message: 'Not found' }), ok({ content_type: 'text/html', body: '<body><h1>Not found</h1>' }), ok({ body: '<body><h1>Not found</h1>' }), ok({ echo: true, trigger: 'header_name' })]).toEqual([true, true, true, true, true]);
  });
  test('status_code should only accept numbers; can not be set as null; < 100; > 599', () => {
    expect(err({ status_code: 'abcd' })).toEqual({ status_code: 'expected an integer' });
    expect(err({ status_code: null })).toEqual({ status_code: 'required field missing' });
    expect(err({ status_code: 99 })).toEqual({ status_code: 'value should be between 100 and 599' });
    expect(err({ status_code: 600 })).toEqual({ status_code: 'value should be between 100 and 599' });
  });
  // Kong's custom_validator errors are the whole `config` ("config": "message ..."); here they
  // are the record's entity error: { config: { "@entity": [message] } }.
  test('#message with body; message with body and content_type; message with content_type', () => {
    for (const c of [{ message: 'error', body: 'test' }, { message: 'error', content_type: 'text/html', body: 'test' }, { message: 'error', content_type: 'text/html' }]) {
      expect(err(c)).toEqual({ '@entity': ['message cannot be used with content_type or body'] });
    }
  });
  test('content_type without body; echo with body & content_type', () => {
    expect(err({ content_type: 'text/html' })).toEqual({ '@entity': ['content_type requires a body'] });
    expect(err({ echo: true, content_type: 'text/html', body: '<body><h1>Not found</h1>' })).toEqual({ '@entity': ['echo cannot be used with content_type and body'] });
  });
});

describe('Plugin: request-termination (access) — 02-access_spec.lua', () => {
  test('default status code and message; with serviceless route', async () => {
    const hits = up.hits;
    for (const path of ['/term1/status/200', '/term7/status/200']) {
      const r = await call(path);
      expect([r.status, r.json()]).toEqual([503, { message: 'Service unavailable' }]);
    }
    expect(up.hits).toBe(hits);
  });
  test('status code with default message; status code with custom message', async () => {
    expect([(await call('/term2')).status, (await call('/term2')).json()]).toEqual([404, { message: 'Not found' }]);
    const r = await call('/term3');
    expect([r.status, r.json()]).toEqual([406, { message: 'Invalid' }]);
  });
  test('returns 204 without content length header', async () => {
    const r = await call('/term8');
    expect([r.status, r.headers['content-length'], r.text]).toEqual([204, undefined, '']);
  });
  test('status code and body: default status code and body; status code with default message (text/html)', async () => {
    const a = await call('/term4');
    expect([a.status, a.text]).toEqual([503, '<html><body><h1>Service is down for maintenance</h1></body></html>']);
    const b = await call('/term5');
    expect([b.status, b.text, b.headers['content-type']]).toEqual([451, '<html><body><h1>Service is down due to content infringement</h1></body></html>', 'text/html']);
  });
  test('status code and body: status code with custom message', async () => {
    const r = await call('/term6');
    expect([r.status, r.json()]).toEqual([503, { code: 1, message: 'Service unavailable' }]);
  });
  test('returns server tokens with Server header', async () => {
    expect((await call('/term1')).headers.server).toMatch(/^gossamer\//i);
  });
  test('echo & trigger: echos a request if no trigger is set', async () => {
    const r = await call('/term9/status/200?hello=there', { 'content-type': 'text/plain' }, 'POST', 'cool body');
    expect(r.status).toBe(404);
    const json = r.json<{ matched_route: { id: string }; request: Record<string, any>; message: string }>();
    expect(json.matched_route.id).toBe(regexRoute.id);
    expect(json.message).toBe('Not found');
    delete json.request.headers['user-agent'];
    expect(json.request).toEqual({
      headers: { 'content-length': '9', 'content-type': 'text/plain', host: `127.0.0.1:${port}`, connection: 'keep-alive' },
      host: '127.0.0.1',
      method: 'POST',
      path: '/term9/status/200',
      port,
      query: { hello: 'there' },
      raw_body: 'cool body',
      scheme: 'http',
      uri_captures: { named: { parameter: 'status' }, unnamed: ['status'] },
    });
  });
  test("doesn't echo a request if the trigger is set but not specified", async () => {
    expect((await call('/term10/status/200')).status).toBe(200);
  });
  test('echos a request if the trigger is specified as a header; as a query parameter', async () => {
    const h = await call('/term10/status/200?hello=there', { 'Gimme-An-Echo': 'anything will do' }, 'POST', 'cool body');
    expect([h.status, h.json<any>().request.headers['gimme-an-echo'], h.json<any>().request.raw_body]).toEqual([404, 'anything will do', 'cool body']);
    expect(h.json<any>().request.uri_captures).toEqual({ named: {}, unnamed: [] });
    const q = await call('/term10/status/200?hello=there&gimme-an-echo=anything%20will%20do');
    expect([q.status, q.json<any>().request.query]).toEqual([404, { hello: 'there', 'gimme-an-echo': 'anything will do' }]);
  });
  test('can be applied on a consumer (03-integration_spec.lua)', async () => {
    const r = await call('/term-consumer', { apikey: 'kong' });
    expect([r.status, r.json()]).toEqual([503, { message: 'Service unavailable' }]);
    expect((await call('/term-consumer')).status).toBe(401);
  });
});

describe('Plugin: bot-detection (access) — spec/03-plugins/21-bot-detection/01-access_spec.lua', () => {
  test('allows regular requests', async () => {
    expect((await call('/bot')).status).toBe(200);
    for (const ua of [CHROME, HELLOWORLD, 'curl/7.43.0']) expect((await call('/bot', { 'user-agent': ua })).status, ua).toBe(200);
  });
  test('blocks bots', async () => {
    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', FACEBOOK]) {
      const r = await call('/bot', { 'user-agent': ua });
      expect([r.status, r.json().message], ua).toEqual([403, 'Forbidden']);
    }
  });
  test('blocks denied user-agents', async () => {
    expect((await call('/bot2', { 'user-agent': HELLOWORLD })).status).toBe(403);
  });
  test('allows allowed user-agents', async () => {
    expect((await call('/bot3', { 'user-agent': FACEBOOK })).status).toBe(200);
  });
  test('two User-Agent headers: 400 Only one User-Agent header allowed', async () => {
    const r = await get(`${base}/bot`, { headers: ['user-agent', CHROME, 'user-agent', 'curl/7.43.0'] as never });
    expect([r.status, r.json().message]).toEqual([400, 'Only one User-Agent header allowed']);
  });
});

describe('Plugin: bot-detection (API) — 03-api_spec.lua', () => {
  test('fails when using a bad regex in allow; in deny', () => {
    const bad = '(https?:\\/\\/.*';
    for (const field of ['allow', 'deny']) {
      const r = validatePluginConfig('bot-detection', { [field]: [bad] });
      expect(r.ok || r.fields).toEqual({ [field]: { '0': `not a valid regex: ${bad}` } });
    }
  });
});
