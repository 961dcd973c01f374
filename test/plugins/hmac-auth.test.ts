// hmac-auth end to end against real Postgres, the Admin API and a proxy fed by its change
// events, in front of a real upstream. Kong's spec/03-plugins/19-hmac-auth/{01-schema,02-api,
// 03-access,04-invalidations}_spec.lua translated: each test names its `it` (several `it`s of
// one shape share a table). Kong routes by Host; here each route is a path prefix, and the
// request-line / @request-target sign the URI the client sent, prefix included.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { get, type Res } from '../support/proxy-fixtures.ts';
import { rawRequest } from '../support/raw-client.ts';
import { pluginStack, type PluginStack } from '../support/plugin-stack.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';

let s: PluginStack;
let consumer: { id: string; username: string };
let anonymousUser: { id: string };
const missingAnonymous = randomUUID();
const SIGNATURE_NOT_VALID = 'HMAC signature cannot be verified';
const NOT_SAME = 'HMAC signature does not match';
const NO_DATE = 'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication';

const httpDate = () => new Date().toUTCString();
const sig = (data: string, alg = 'sha1', secret = 'secret') => createHmac(alg, secret).update(data).digest('base64');
const proxy = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Res> =>
  get(`${s.proxyUrl}${path}`, { headers, method, body });
const auth = (headers: string, signature: string, alg = 'hmac-sha1', user = 'bob') =>
  `hmac username="${user}",  algorithm="${alg}", headers="${headers}", signature="${signature}"`;

beforeAll(async () => {
  s = await pluginStack('hmac');
  await s.ok('POST', '/services', { name: 'echo', url: `http://127.0.0.1:${s.upstream.port}` });
  anonymousUser = await s.ok('POST', '/consumers', { username: 'no-body' });
  const routes: Record<string, Record<string, unknown>> = {
    hmac1: { clock_skew: 3000, realm: 'test-realm' },
    hmac2: { anonymous: anonymousUser.id, clock_skew: 3000 },
    hmac3: { anonymous: missingAnonymous, clock_skew: 3000 },
    hmac4: { clock_skew: 3000, validate_request_body: true },
    hmac5: { clock_skew: 3000, enforce_headers: ['date', 'request-line'], validate_request_body: true },
    hmac6: { clock_skew: 3000, enforce_headers: ['date', 'request-line'], algorithms: ['hmac-sha1', 'hmac-sha256'], validate_request_body: true },
    hmac7: { anonymous: 'no-body', clock_skew: 3000 },
    hide: { hide_credentials: true },
  };
  for (const [name, config] of Object.entries(routes)) {
    await s.ok('POST', '/services/echo/routes', { name, paths: [`/${name}`] });
    await s.ok('POST', `/routes/${name}/plugins`, { name: 'hmac-auth', config });
  }
  consumer = await s.ok('POST', '/consumers', { username: 'bob', custom_id: '1234' });
  await s.ok('POST', '/consumers/bob/hmac-auth', { username: 'bob', secret: 'secret' });
});

afterAll(async () => {
  await s?.close();
});

describe('Plugin: hmac-auth (schema) — 01-schema_spec.lua', () => {
  test('accepts empty config; accepts correct clock skew', () => {
    expect(validatePluginConfig('hmac-auth', {})).toEqual({
      ok: true,
      config: { hide_credentials: false, clock_skew: 300, anonymous: null, validate_request_body: false, enforce_headers: [], algorithms: ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'], realm: null },
    });
    expect(validatePluginConfig('hmac-auth', { clock_skew: 10 }).ok).toBe(true);
  });
  test('errors with negative clock skew; errors with wrong algorithm', () => {
    const neg = validatePluginConfig('hmac-auth', { clock_skew: -10 });
    expect(neg.ok || neg.fields.clock_skew).toBe('value must be greater than 0');
    const alg = validatePluginConfig('hmac-auth', { algorithms: ['sha1024'] });
    expect(alg.ok || alg.fields).toEqual({ algorithms: { '0': 'expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512' } });
  });
});

describe('Plugin: hmac-auth (API) — 02-api_spec.lua', () => {
  test('POST /consumers/:consumer/hmac-auth: creates a hmac-auth credential; with tags; secret generated when absent', async () => {
    await s.ok('POST', '/consumers', { username: 'api-user' });
    const r = await s.call('POST', '/consumers/api-user/hmac-auth', { username: 'api-bob', secret: '1234' });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['consumer', 'created_at', 'id', 'secret', 'tags', 'username']);
    expect(r.body).toMatchObject({ username: 'api-bob', secret: '1234', tags: null });
    const tagged = await s.call('POST', '/consumers/api-user/hmac-auth', undefined, 'username=api-tagged&tags[]=tag1&tags[]=tag2');
    expect([tagged.status, tagged.body.tags]).toEqual([201, ['tag1', 'tag2']]);
    expect(tagged.body.secret).toMatch(/^[0-9a-f]{32}$/);
  });
  test('POST: errors on a missing username and on a duplicate username (409)', async () => {
    const missing = await s.call('POST', '/consumers/api-user/hmac-auth', {});
    expect([missing.status, missing.body.fields]).toEqual([400, { username: 'required field missing' }]);
    const dup = await s.call('POST', '/consumers/api-user/hmac-auth', { username: 'api-bob' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: 5, name: 'unique constraint violation', fields: { username: 'api-bob' } });
  });
  test('GET /consumers/:consumer/hmac-auth: retrieves the first page; 404 for an unknown consumer', async () => {
    const r = await s.call('GET', '/consumers/api-user/hmac-auth');
    expect(r.body.data.map((c: { username: string }) => c.username).sort()).toEqual(['api-bob', 'api-tagged']);
    expect((await s.call('GET', '/consumers/nobody/hmac-auth')).status).toBe(404);
  });
  test('GET /consumers/:consumer/hmac-auth/:id: retrieves by id, by username; 404 for another consumer\'s', async () => {
    const byName = await s.ok('GET', '/consumers/api-user/hmac-auth/api-bob');
    expect((await s.call('GET', `/consumers/api-user/hmac-auth/${byName.id}`)).body.username).toBe('api-bob');
    expect((await s.call('GET', '/consumers/bob/hmac-auth/api-bob')).status).toBe(404);
  });
  test('PUT creates and updates; PATCH updates by id and by username', async () => {
    const put = await s.call('PUT', '/consumers/api-user/hmac-auth/api-put', { secret: 'p1' });
    expect([put.status, put.body.username, put.body.secret]).toEqual([200, 'api-put', 'p1']);
    expect((await s.call('PATCH', `/consumers/api-user/hmac-auth/${put.body.id}`, { secret: 'p2' })).body.secret).toBe('p2');
    expect((await s.call('PATCH', '/consumers/api-user/hmac-auth/api-put', { username: 'api-put2' })).body.username).toBe('api-put2');
  });
  test('PATCH [FAILURE] should return proper errors; PUT [FAILURE] should return proper errors', async () => {
    const patch = await s.call('PATCH', '/consumers/api-user/hmac-auth/api-bob', { username: '' });
    expect([patch.status, patch.body.fields]).toEqual([400, { username: 'length must be at least 1' }]);
    const put = await s.call('PUT', '/consumers/api-user/hmac-auth/api-bob', { secret: 123 });
    expect([put.status, put.body.fields]).toEqual([400, { secret: 'expected a string' }]);
  });
  test('DELETE deletes a credential; [FAILURE] should return proper errors (404 for a missing one)', async () => {
    expect((await s.call('DELETE', '/consumers/api-user/hmac-auth/api-put2')).status).toBe(204);
    expect((await s.call('GET', '/hmac-auths/api-put2')).status).toBe(404);
    expect((await s.call('DELETE', '/consumers/api-user/hmac-auth/api-put2')).status).toBe(404);
    expect((await s.call('DELETE', '/consumers/api-user/hmac-auth/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
  test('/hmac-auths: retrieves all, paginates; /hmac-auths/:id/consumer by id and username; 404s', async () => {
    const all = await s.call('GET', '/hmac-auths');
    expect(all.body.data.length).toBeGreaterThanOrEqual(3);
    const p1 = await s.call('GET', '/hmac-auths?size=1');
    expect(p1.body.data).toHaveLength(1);
    expect(p1.body.next).toMatch(/^\/hmac-auths\?offset=/);
    const c = await s.ok('GET', '/hmac-auths/api-bob');
    expect((await s.call('GET', `/hmac-auths/${c.id}/consumer`)).body.username).toBe('api-user');
    expect((await s.call('GET', '/hmac-auths/api-bob/consumer')).body.username).toBe('api-user');
    expect((await s.call('GET', `/hmac-auths/${randomUUID()}/consumer`)).status).toBe(404);
    expect((await s.call('GET', '/hmac-auths/nobody/consumer')).status).toBe(404);
  });
});

describe('Plugin: hmac-auth (access) — 03-access_spec.lua: refusals on the realm route', () => {
  const expect401 = async (r: Res, message: string, challenge = 'hmac realm="test-realm"') => {
    expect([r.status, r.headers['www-authenticate'], r.json().message]).toEqual([401, challenge, message]);
    expect(r.json().request_id).toMatch(/./);
  };
  test('should not be authorized when the hmac credentials are missing', async () => {
    await expect401(await proxy('/hmac1/request', { date: httpDate() }, 'POST', '{}'), 'Unauthorized');
  });
  test('should not be authorized when the HMAC signature is wrong', async () => {
    await expect401(await proxy('/hmac1/request', { date: httpDate(), authorization: 'asd' }, 'POST'), SIGNATURE_NOT_VALID);
  });
  test('should not be authorized when the HMAC signature is not properly base64 encoded', async () => {
    const a = '"hmac username="bob",algorithm="hmac-sha1",headers="date",signature="not really a base64 encoded value!!!"';
    await expect401(await proxy('/hmac1/request', { date: httpDate(), authorization: a }), NOT_SAME);
  });
  test('should not be authorized when date header is missing', async () => {
    await expect401(await proxy('/hmac1/request', { authorization: 'asd' }, 'POST'), NO_DATE);
  });
  const refusedHeaders: [string, Record<string, string>][] = [
    ['should not be authorized with signature is wrong in proxy-authorization', { 'proxy-authorization': 'asd' }],
    ['should not pass when passing only the digest', { 'proxy-authorization': 'hmac :dXNlcm5hbWU6cGFzc3dvcmQ=' }],
    ['should not pass when passing wrong hmac parameters (proxy-authorization)', { 'proxy-authorization': 'hmac username=,algorithm,headers,dXNlcm5hbWU6cGFzc3dvcmQ=' }],
    ['should not pass when passing wrong hmac parameters (authorization)', { authorization: 'hmac username=,algorithm,headers,dXNlcm5hbWU6cGFzc3dvcmQ=' }],
    ['should not be authorized when passing only the username', { authorization: 'hmac username' }],
  ];
  for (const [name, headers] of refusedHeaders) {
    test(name, async () => {
      await expect401(await proxy('/hmac1/request', { date: httpDate(), ...headers }, 'POST'), SIGNATURE_NOT_VALID);
    });
  }
  test('should not be authorized when authorization header is missing', async () => {
    await expect401(await proxy('/hmac1/request', { date: httpDate() }, 'POST'), 'Unauthorized');
  });
  test('should not pass with username missing; should not pass with signature missing', async () => {
    const date = httpDate();
    await expect401(await proxy('/hmac1/request', { date, authorization: `hmac algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"` }), SIGNATURE_NOT_VALID);
    await expect401(await proxy('/hmac1/request', { date, authorization: 'hmac username="bob",algorithm="hmac-sha1",headers="date"' }), SIGNATURE_NOT_VALID);
  });
  test('when realm is not set: should return a 401 with an invalid authorization header', async () => {
    const r = await proxy('/hmac6/request', { date: httpDate(), 'proxy-authorization': 'this is no hmac token at all is it?' }, 'POST');
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'hmac']);
  });
});

describe('Plugin: hmac-auth (access): signatures that pass', () => {
  const line = (uri: string) => `GET ${uri} HTTP/1.1`;
  test('should pass with GET; should pass with POST (the Authorization header reaches the upstream)', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    for (const method of ['GET', 'POST']) {
      const r = await proxy('/hmac1/request', { date, authorization: a }, method, method === 'POST' ? '{}' : undefined);
      expect([r.status, r.json().headers.authorization]).toEqual([200, a]);
    }
  });
  test('should pass with GET and proxy-authorization', async () => {
    const date = httpDate();
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"` })).status).toBe(200);
  });
  test('should pass with GET and valid authorization and wrong proxy-authorization', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    const r = await proxy('/hmac1/request', { date, 'proxy-authorization': 'hmac username', authorization: a });
    expect([r.status, r.json().headers.authorization]).toEqual([200, a]);
  });
  test('should pass with GET and invalid authorization and valid proxy-authorization', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': a, authorization: 'hello' })).status).toBe(200);
  });
  test('should pass with GET with content-md5 header', async () => {
    const date = httpDate();
    const a = auth('date content-md5', sig(`date: ${date}\ncontent-md5: md5`));
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': a, authorization: 'hello', 'content-md5': 'md5' })).status).toBe(200);
  });
  test('should pass with GET with request-line', async () => {
    const date = httpDate();
    const a = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac1/request')}`));
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': a, authorization: 'hello', 'content-md5': 'md5' })).status).toBe(200);
  });
  test('should pass with GET with @request-target', async () => {
    const date = httpDate();
    const a = auth('date content-md5 @request-target', sig(`date: ${date}\ncontent-md5: md5\n@request-target: get /hmac1/request`));
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': a, 'content-md5': 'md5' })).status).toBe(200);
  });
  test('should encode http-1 requests as http/1.0', async () => {
    const date = httpDate();
    const a = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\nGET /hmac1/request HTTP/1.0`));
    const port = new URL(s.proxyUrl).port;
    const r = await rawRequest(Number(port), `GET /hmac1/request HTTP/1.0\r\nHost: localhost\r\nDate: ${date}\r\nProxy-Authorization: ${a}\r\nContent-MD5: md5\r\n\r\n`);
    expect(r.data).toMatch(/^HTTP\/1\.[01] 200 /);
  });
  test('should pass with GET with no space or space between hmac signatures fields', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",  headers="date content-md5 request-line",signature="${sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac1/request')}`)}"`;
    expect((await proxy('/hmac1/request', { date, 'proxy-authorization': a, 'content-md5': 'md5' })).status).toBe(200);
  });
  test('should pass the right headers to the upstream server', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha256",  headers="date content-md5 request-line",signature="${sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac1/request')}`, 'sha256')}"`;
    const r = await proxy('/hmac1/request', { date, 'proxy-authorization': a, 'content-md5': 'md5' });
    const h = r.json().headers;
    expect([r.status, h['x-consumer-id'], h['x-consumer-username'], h['x-consumer-custom-id'], h['x-credential-identifier'], h['x-anonymous-consumer']]).toEqual([200, consumer.id, 'bob', '1234', 'bob', undefined]);
  });
  test('should pass with GET with x-date header', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",  headers="x-date content-md5 request-line",signature="${sig(`x-date: ${date}\ncontent-md5: md5\n${line('/hmac1/request')}`)}"`;
    expect((await proxy('/hmac1/request', { 'x-date': date, authorization: a, 'content-md5': 'md5' })).status).toBe(200);
  });
  test('should pass with GET with x-date malformed but date correct (and: used for signature; x-date or date malformed and signed but skew test pass)', async () => {
    const date = httpDate();
    const cases: [string, string, Record<string, string>][] = [
      ['content-md5 request-line', `content-md5: md5\n${line('/hmac1/request')}`, { 'x-date': 'wrong date', date }],
      ['date content-md5 request-line', `date: ${date}\ncontent-md5: md5\n${line('/hmac1/request')}`, { 'x-date': 'wrong date', date }],
      ['x-date content-md5 request-line', `x-date: wrong date\ncontent-md5: md5\n${line('/hmac1/request')}`, { 'x-date': 'wrong date', date }],
      ['date content-md5 request-line', `date: wrong date\ncontent-md5: md5\n${line('/hmac1/request')}`, { 'x-date': date, date: 'wrong date' }],
    ];
    for (const [headers, data, dates] of cases) {
      const a = `hmac username="bob",algorithm="hmac-sha1",  headers="${headers}",signature="${sig(data)}"`;
      expect((await proxy('/hmac1/request', { ...dates, authorization: a, 'content-md5': 'md5' })).status, headers).toBe(200);
    }
  });
  test('should pass with GET with hmac-sha384; should pass with GET with hmac-sha512 (enforced headers present)', async () => {
    for (const alg of ['sha384', 'sha512']) {
      const date = httpDate();
      const a = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac5/request')}`, alg), `hmac-${alg}`);
      expect((await proxy('/hmac5/request', { date, 'proxy-authorization': a, 'content-md5': 'md5' })).status).toBe(200);
    }
  });
  test('should pass with hmac-sha1 (algorithms limited to sha1 and sha256); should not pass with hmac-sha512 there', async () => {
    const date = httpDate();
    const ok = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac6/request')}`));
    expect((await proxy('/hmac6/request', { date, 'proxy-authorization': ok, 'content-md5': 'md5' })).status).toBe(200);
    const no = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\n${line('/hmac6/request')}`, 'sha512'), 'hmac-sha512');
    const r = await proxy('/hmac6/request', { date, 'proxy-authorization': no, 'content-md5': 'md5' });
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'hmac']);
  });
});

describe('Plugin: hmac-auth (access): malformed signature fields', () => {
  const cases: [string, (sig: string) => string, string][] = [
    ['should not pass with GET with wrong username in signature', (x) => auth('date content-md5 request-line', x, 'hmac-sha1', 'bobb'), SIGNATURE_NOT_VALID],
    ['should not pass with GET with username blank in signature', (x) => auth('date content-md5 request-line', x, 'hmac-sha1', ''), SIGNATURE_NOT_VALID],
    ['should not pass with GET with username missing in signature', (x) => `hmac algorithm="hmac-sha1", headers="date content-md5 request-line", signature="${x}"`, SIGNATURE_NOT_VALID],
    ['should not pass with GET with wrong hmac headers field name', (x) => `hmac username="bob",  algorithm="hmac-sha1",   wrong_header="date content-md5 request-line", signature="${x}"`, SIGNATURE_NOT_VALID],
    ['should not pass with GET with wrong hmac signature field name', (x) => `hmac username="bob",  algorithm="hmac-sha1",   headers="date content-md5 request-line", wrong_signature="${x}"`, SIGNATURE_NOT_VALID],
    ['should not pass with GET with malformed hmac signature field', (x) => `hmac username="bob",  algorithm="hmac-sha1" headers="date content-md5 request-line", signature="${x}"`, SIGNATURE_NOT_VALID],
    ['should not pass with GET with malformed hmac headers field', (x) => `hmac username="bob",  algorithm="hmac-sha1" headers="  date content-md5 request-line",signature="${x}"`, SIGNATURE_NOT_VALID],
    ['should not pass with GET with wrong algorithm', (x) => `hmac username="bob",algorithm="hmac-sha",  headers="date content-md5 request-line",signature="${x}"`, SIGNATURE_NOT_VALID],
  ];
  for (const [name, header, message] of cases) {
    test(name, async () => {
      const date = httpDate();
      const a = header(sig(`date: ${date}\ncontent-md5: md5\nGET /hmac1/request HTTP/1.1`));
      const r = await proxy('/hmac1/request', { date, 'proxy-authorization': a, authorization: 'hello', 'content-md5': 'md5' });
      expect([r.status, r.json().message]).toEqual([401, message]);
    });
  }
  test('should not pass with GET with both date and x-date missing; should not pass with GET with x-date malformed', async () => {
    const a = auth('content-md5 request-line', sig(`content-md5: md5\nGET /hmac1/request HTTP/1.1`));
    expect((await proxy('/hmac1/request', { 'proxy-authorization': a, 'content-md5': 'md5' })).json().message).toBe(NO_DATE);
    expect((await proxy('/hmac1/request', { 'x-date': 'wrong date', authorization: a, 'content-md5': 'md5' })).json().message).toBe(NO_DATE);
  });
  test('a Date outside clock_skew is refused like a missing one', async () => {
    const date = new Date(Date.now() - 3_600_000).toUTCString();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    expect((await proxy('/hmac1/request', { date, authorization: a })).json().message).toBe(NO_DATE);
  });
});

describe('Plugin: hmac-auth (access): request-line with queries (enforce_headers date, request-line)', () => {
  const call = (uri: string, signedUri = uri) => {
    const date = httpDate();
    const a = auth('date content-md5 request-line', sig(`date: ${date}\ncontent-md5: md5\nGET ${signedUri} HTTP/1.1`));
    return proxy(uri, { date, 'proxy-authorization': a, 'content-md5': 'md5' });
  };
  test('should pass with GET with request-line', async () => {
    expect((await call('/hmac5/request')).status).toBe(200);
  });
  test('should fail with GET with request-line having query param but signed without query param', async () => {
    const r = await call('/hmac5/request?name=foo', '/hmac5/request');
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'hmac']);
    expect((await call('/hmac5/request/?name=foo', '/hmac5/request/')).status).toBe(401);
  });
  test('should pass with GET with request-line having query param', async () => {
    expect((await call('/hmac5/request?name=foo')).status).toBe(200);
    expect((await call('/hmac5/request/?name=foo')).status).toBe(200);
  });
  test('should pass with GET with request-line having encoded query param', async () => {
    for (const v of ['foo bar', 'foo bár']) {
      const r = await call(`/hmac5/request?name=${encodeURIComponent(v)}`);
      expect([r.status, new URL(r.json().url, 'http://x').searchParams.get('name')]).toEqual([200, v]);
    }
  });
  test('should pass with GET with request-line having multiple query params; multiple same query param', async () => {
    const r = await call(`/hmac5/request?name=${encodeURIComponent('foo bar')}&address=${encodeURIComponent('san francisco')}`);
    expect(new URL(r.json().url, 'http://x').searchParams.get('address')).toBe('san francisco');
    const same = await call('/hmac5/request?name=foo&name=bar');
    expect(new URL(same.json().url, 'http://x').searchParams.getAll('name')).toEqual(['foo', 'bar']);
  });
  test('should pass with GET with request-line having no uri', async () => {
    expect((await call('/hmac5')).status).toBe(200);
  });
  test('should pass with GET with request-line having encoded path param', async () => {
    const r = await call(`/hmac5/request/${encodeURIComponent('some value')}/?name=foo&name=bar`);
    expect([r.status, r.json().url]).toEqual([200, '/request/some%20value/?name=foo&name=bar']);
  });
  test('should fail with GET when enforced header request-line missing', async () => {
    const date = httpDate();
    const a = auth('date content-md5', sig(`date: ${date}\ncontent-md5: md5`));
    const r = await proxy('/hmac5/request', { date, 'proxy-authorization': a, 'content-md5': 'md5' });
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'hmac']);
  });
});

describe('Plugin: hmac-auth (access): validate_request_body', () => {
  const digest = (body: string) => `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
  const postBody = '{"a":"apple","b":"ball"}';
  const signed = (date: string, withDigest: string | null) =>
    withDigest === null
      ? `"hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`
      : `"hmac username="bob",algorithm="hmac-sha1",headers="date digest",signature="${sig(`date: ${date}\ndigest: ${withDigest}`)}"`;
  test('should return 401 when body validation enabled and no digest header is present', async () => {
    const date = httpDate();
    const r = await proxy('/hmac4/request', { date, authorization: signed(date, null) }, 'POST', postBody);
    expect([r.status, r.headers['www-authenticate'], r.json().message]).toEqual([401, 'hmac', NOT_SAME]);
  });
  test('should return 200 when body validation enabled and no body and no digest header is present; should pass with GET when body validation enabled', async () => {
    const date = httpDate();
    expect((await proxy('/hmac4/request', { date, authorization: signed(date, null) })).status).toBe(200);
  });
  test('should return 200 when body validation enabled and no body and an digest header is present', async () => {
    const date = httpDate();
    expect((await proxy('/hmac4/request', { date, digest: digest(''), authorization: signed(date, digest('')) })).status).toBe(200);
  });
  test('should pass with POST when body validation enabled and digest header present (the body reaches the upstream)', async () => {
    const date = httpDate();
    const r = await proxy('/hmac4/request', { date, digest: digest(postBody), authorization: signed(date, digest(postBody)) }, 'POST', postBody);
    expect([r.status, r.json().body]).toEqual([200, postBody]);
  });
  test('should not pass with POST when body validation enabled and digest header missing', async () => {
    const date = httpDate();
    const r = await proxy('/hmac4/request', { date, authorization: signed(date, digest(postBody)) }, 'POST', postBody);
    expect([r.status, r.json().message]).toEqual([401, NOT_SAME]);
  });
  test('should not pass with POST when body validation enabled and postBody is tampered', async () => {
    const date = httpDate();
    const r = await proxy('/hmac4/request', { date, digest: digest(postBody), authorization: signed(date, digest(postBody)) }, 'POST', 'abc');
    expect([r.status, r.json().message]).toEqual([401, NOT_SAME]);
  });
  test('should not pass with POST when body validation enabled and digest header is tampered', async () => {
    const date = httpDate();
    const r = await proxy('/hmac4/request', { date, digest: `${digest(postBody)}spoofed`, authorization: signed(date, digest(postBody)) }, 'POST', postBody);
    expect([r.status, r.json().message]).toEqual([401, NOT_SAME]);
  });
});

describe('Plugin: hmac-auth (access): anonymous and hide_credentials', () => {
  test('should pass with valid credentials and anonymous', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    const h = (await proxy('/hmac2/request', { date, authorization: a })).json().headers;
    expect([h.authorization, h['x-consumer-username'], h['x-credential-identifier'], h['x-anonymous-consumer']]).toEqual([a, 'bob', 'bob', undefined]);
  });
  test('should pass with invalid credentials and anonymous; with username in anonymous', async () => {
    for (const path of ['/hmac2/request', '/hmac7/request']) {
      const h = (await proxy(path)).json().headers;
      expect([h['x-anonymous-consumer'], h['x-consumer-username'], h['x-credential-identifier']]).toEqual(['true', 'no-body', undefined]);
    }
  });
  test("errors when anonymous user doesn't exist", async () => {
    const r = await proxy('/hmac3/request');
    expect([r.status, r.json().message]).toEqual([500, `anonymous consumer ${missingAnonymous} is configured but doesn't exist`]);
  });
  test('hide_credentials removes the header the signature came from', async () => {
    const date = httpDate();
    const a = `hmac username="bob",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`)}"`;
    const viaAuth = (await proxy('/hide/request', { date, authorization: a })).json().headers;
    expect([viaAuth.authorization, viaAuth['x-consumer-username']]).toEqual([undefined, 'bob']);
    const viaProxy = (await proxy('/hide/request', { date, 'proxy-authorization': a, authorization: 'keep' })).json().headers;
    expect([viaProxy['proxy-authorization'], viaProxy.authorization]).toEqual([undefined, 'keep']);
  });
});

describe('Plugin: hmac-auth (access): multiple auth with key-auth (logical AND / OR)', () => {
  let user1: { id: string };
  let user2: { id: string };
  let anonymous: { id: string };
  let keyId: string;
  const signedHeaders = () => {
    const date = httpDate();
    return { date, authorization: `hmac username="Aladdin",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`, 'sha1', 'OpenSesame')}"` };
  };
  beforeAll(async () => {
    for (const name of ['logical-and', 'logical-or']) await s.ok('POST', '/services/echo/routes', { name, paths: [`/${name}`] });
    anonymous = await s.ok('POST', '/consumers', { username: 'Anonymous' });
    await s.ok('POST', '/routes/logical-and/plugins', { name: 'hmac-auth' });
    await s.ok('POST', '/routes/logical-and/plugins', { name: 'key-auth' });
    await s.ok('POST', '/routes/logical-or/plugins', { name: 'hmac-auth', config: { anonymous: anonymous.id } });
    await s.ok('POST', '/routes/logical-or/plugins', { name: 'key-auth', config: { anonymous: anonymous.id } });
    user1 = await s.ok('POST', '/consumers', { username: 'Mickey' });
    user2 = await s.ok('POST', '/consumers', { username: 'Aladdin' });
    keyId = (await s.ok('POST', '/consumers/Mickey/key-auth', { key: 'Mouse' })).id;
    await s.ok('POST', '/consumers/Aladdin/hmac-auth', { username: 'Aladdin', secret: 'OpenSesame' });
  });
  test('logical AND: passes with all credentials provided', async () => {
    const r = await proxy('/logical-and/request', { apikey: 'Mouse', ...signedHeaders() });
    const h = r.json().headers;
    // key-auth (1250) runs before hmac-auth (1030): the last to authenticate names the credential.
    expect([r.status, h['x-anonymous-consumer'], h['x-credential-identifier']]).toEqual([200, undefined, 'Aladdin']);
    expect([user1.id, user2.id]).toContain(h['x-consumer-id']);
  });
  test('logical AND: fails 401, with only the first credential provided; only the second; none', async () => {
    const first = await proxy('/logical-and/request', { apikey: 'Mouse' });
    expect([first.status, first.headers['www-authenticate']]).toEqual([401, 'hmac']);
    const second = await proxy('/logical-and/request', signedHeaders());
    expect([second.status, second.headers['www-authenticate']]).toEqual([401, 'Key realm="gossamer"']);
    expect((await proxy('/logical-and/request')).status).toBe(401);
  });
  test('logical OR: passes with all credentials provided; only the first; only the second', async () => {
    const all = (await proxy('/logical-or/request', { apikey: 'Mouse', ...signedHeaders() })).json().headers;
    expect([all['x-anonymous-consumer'], all['x-consumer-id'], all['x-credential-identifier']]).toEqual([undefined, user1.id, keyId]);
    const first = (await proxy('/logical-or/request', { apikey: 'Mouse' })).json().headers;
    expect([first['x-anonymous-consumer'], first['x-consumer-id']]).toEqual([undefined, user1.id]);
    const second = (await proxy('/logical-or/request', signedHeaders())).json().headers;
    expect([second['x-anonymous-consumer'], second['x-consumer-id'], second['x-credential-identifier']]).toEqual([undefined, user2.id, 'Aladdin']);
  });
  test('logical OR: passes with no credential provided', async () => {
    const h = (await proxy('/logical-or/request')).json().headers;
    expect([h['x-anonymous-consumer'], h['x-consumer-id']]).toEqual(['true', anonymous.id]);
  });
});

describe('Plugin: hmac-auth (invalidations) — 04-invalidations_spec.lua', () => {
  const call = (username: string, secret: string) => {
    const date = httpDate();
    return proxy('/hmac1/request', { date, authorization: `hmac username="${username}",algorithm="hmac-sha1",headers="date",signature="${sig(`date: ${date}`, 'sha1', secret)}"` });
  };
  test('should invalidate when Hmac Auth Credential entity is deleted', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-del' });
    const c = await s.ok('POST', '/consumers/inval-del/hmac-auth', { username: 'inval-del', secret: 'one' });
    expect((await call('inval-del', 'one')).status).toBe(200);
    expect((await s.call('DELETE', `/consumers/inval-del/hmac-auth/${c.id}`)).status).toBe(204);
    expect((await call('inval-del', 'one')).json().message).toBe(SIGNATURE_NOT_VALID);
  });
  test('should invalidate when Hmac Auth Credential entity is updated', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-upd' });
    const c = await s.ok('POST', '/consumers/inval-upd/hmac-auth', { username: 'inval-upd', secret: 'one' });
    expect((await call('inval-upd', 'one')).status).toBe(200);
    await s.ok('PATCH', `/hmac-auths/${c.id}`, { username: 'inval-upd2', secret: 'two' });
    expect((await call('inval-upd', 'one')).json().message).toBe(SIGNATURE_NOT_VALID);
    expect((await call('inval-upd2', 'one')).json().message).toBe(NOT_SAME);
    expect((await call('inval-upd2', 'two')).status).toBe(200);
  });
  test('should invalidate when Consumer entity is deleted', async () => {
    await s.ok('POST', '/consumers', { username: 'inval-consumer' });
    await s.ok('POST', '/consumers/inval-consumer/hmac-auth', { username: 'inval-consumer', secret: 'one' });
    expect((await call('inval-consumer', 'one')).status).toBe(200);
    expect((await s.call('DELETE', '/consumers/inval-consumer')).status).toBe(204);
    expect((await call('inval-consumer', 'one')).json().message).toBe(SIGNATURE_NOT_VALID);
  });
});
