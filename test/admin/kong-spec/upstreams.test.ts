// Kong/kong spec/02-integration/04-admin_api/07-upstreams_routes_spec.lua, one `it` per Kong `it`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentTypes, startKongSpecAdmin, type KongSpecAdmin } from './harness.ts';

const SPEC = '07-upstreams_routes_spec.lua';
const SLOTS_DEFAULT = 10000;
const SLOTS_MAX = 2 ** 16;
let k: KongSpecAdmin;
beforeAll(async () => {
  k = await startKongSpecAdmin('kupstreams');
});
afterAll(async () => {
  await k?.close();
});
const itContentTypes = (title: string, fn: (type: string) => () => Promise<void>) => contentTypes(SPEC, it)(title, fn, { multipart: true });
const HEADER_ERR = "bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, 0-9, '_', and '-'";
const COOKIE_ERR = 'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.';
const COND = (f: string) => `failed conditional validation given value of field '${f}'`;

describe('/upstreams POST', () => {
  beforeEach(async () => {
    await k.truncate('upstreams', 'targets');
  });

  itContentTypes('creates an upstream with defaults', (type) => async () => {
    const res = await k.post('/upstreams', { type, body: { name: 'my.upstream' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'my.upstream', slots: SLOTS_DEFAULT, hash_on: 'none', hash_fallback: 'none', hash_on_header: null, hash_fallback_header: null });
    expect(typeof res.body.created_at).toBe('number');
    expect(typeof res.body.id).toBe('string');
  });

  itContentTypes('creates an upstream without defaults', (type) => async () => {
    const body = { name: 'my.upstream', slots: 10, hash_on: 'consumer', hash_fallback: 'ip', hash_on_header: 'HeaderName', hash_fallback_header: 'HeaderFallback' };
    const res = await k.post('/upstreams', { type, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(body);
  });

  itContentTypes('creates an upstream with hash_on cookie parameters', (type) => async () => {
    const body = { name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'CookieName1', hash_on_cookie_path: '/foo' };
    const res = await k.post('/upstreams', { type, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(body);
  });

  itContentTypes('creates an upstream with 2 header hashes', (type) => async () => {
    const body = { name: 'my.upstream', slots: 10, hash_on: 'header', hash_fallback: 'header', hash_on_header: 'HeaderName1', hash_fallback_header: 'HeaderName2' };
    const res = await k.post('/upstreams', { type, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject(body);
  });

  itContentTypes(`creates an upstream with ${SLOTS_MAX} slots`, (type) => async () => {
    const res = await k.post('/upstreams', { type, body: { name: 'my.upstream', slots: SLOTS_MAX } });
    expect(res.status).toBe(201);
    expect(res.body.slots).toBe(SLOTS_MAX);
  });

  itContentTypes('creates an upstream with host header', (type) => async () => {
    const res = await k.post('/upstreams', { type, body: { name: 'my.upstream', host_header: 'localhost' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'my.upstream', slots: SLOTS_DEFAULT, hash_on: 'none', hash_fallback: 'none', hash_on_header: null, host_header: 'localhost' });
  });

  it(`${SPEC}: handles malformed JSON body`, async () => {
    const res = await k.post('/upstreams', { body: '{"hello": "world"' });
    expect(res.status).toBe(400);
    expect(res.text).toBe('{"message":"Cannot parse JSON body"}');
  });

  itContentTypes('handles invalid input', (type) => async () => {
    const post = async (body: Record<string, unknown>) => {
      const res = await k.post('/upstreams', { type, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      return res.body;
    };
    let json = await post({ slots: 50 });
    expect(json.name).toBe('schema violation');
    expect(json.fields).toEqual({ name: 'required field missing' });

    json = await post({ name: 'some invalid host name' });
    expect(json.fields).toEqual({ name: "Invalid name ('some invalid host name'); must be a valid hostname" });

    json = await post({ name: 'my.upstream', slots: 2 ** 16 + 1 });
    expect(json.fields).toEqual({ slots: 'value should be between 10 and 65536' });

    json = await post({ name: 'my.upstream', hash_on: 'something that is invalid' });
    expect(json.fields).toEqual({ hash_on: 'expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture' });

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'something that is invalid' });
    expect(json.fields).toEqual({ '@entity': [COND('hash_on')], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture' });

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'consumer' });
    expect(json.fields).toEqual({ '@entity': [COND('hash_on')], hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture' });

    json = await post({ name: 'my.upstream', hash_on: 'header', hash_fallback: 'consumer', hash_on_header: 'not a <> valid <> header name' });
    expect(json.fields.hash_on_header).toBe(HEADER_ERR);

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header', hash_fallback_header: 'not a <> valid <> header name' });
    expect(json.fields.hash_fallback_header).toBe(HEADER_ERR);

    json = await post({ name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_on_header: 'headername', hash_fallback_header: 'headername' });
    expect(json.name).toBe('schema violation');
    expect(json.fields).toEqual({ '@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"] });

    json = await post({ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'cookiename', hash_fallback: 'header', hash_fallback_header: 'Cool-Header' });
    expect(json.fields).toEqual({ '@entity': [COND('hash_on')], hash_fallback: 'expected one of: none' });

    json = await post({ name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_fallback_header: 'HeaderName' });
    expect(json.fields).toEqual({ '@entity': [COND('hash_on')], hash_on_header: 'required field missing' });

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header' });
    expect(json.fields).toEqual({ '@entity': [COND('hash_fallback')], hash_fallback_header: 'required field missing' });

    json = await post({ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' });
    expect(json.fields.hash_on_cookie).toBe(COOKIE_ERR);

    json = await post({ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'hashme', hash_on_cookie_path: 'not a path' });
    expect(json.fields).toEqual({ hash_on_cookie_path: 'should start with: /' });

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' });
    expect(json.fields.hash_on_cookie).toBe(COOKIE_ERR);

    json = await post({ name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'my-cookie', hash_on_cookie_path: 'not a path' });
    expect(json.fields).toEqual({ hash_on_cookie_path: 'should start with: /' });
  });

  itContentTypes('returns 409 on conflict', (type) => async () => {
    expect((await k.post('/upstreams', { type, body: { name: 'my.upstream' } })).status).toBe(201);
    const res = await k.post('/upstreams', { type, body: { name: 'my.upstream' } });
    expect(res.status).toBe(409);
    expect(res.body.name).toBe('unique constraint violation');
    expect(res.body.fields).toEqual({ name: 'my.upstream' });
  });
});

describe('/upstreams PUT', () => {
  beforeEach(async () => {
    await k.truncate('upstreams', 'targets');
  });

  itContentTypes('creates if not exists', (type) => async () => {
    const res = await k.put('/upstreams/my-upstream', { type, body: { created_at: 1461276890000 } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('my-upstream');
    expect(typeof res.body.created_at).toBe('number');
    expect(typeof res.body.id).toBe('string');
    expect(typeof res.body.slots).toBe('number');
  });

  itContentTypes('replaces if exists', (type) => async () => {
    let res = await k.post('/upstreams', { type, body: { name: 'my-upstream', slots: 100 } });
    expect(res.status).toBe(201);
    const json = res.body;
    res = await k.put(`/upstreams/${json.id}`, { type, body: { name: 'my-new-upstream', slots: 123, created_at: json.created_at } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'my-new-upstream', slots: 123, id: json.id });
  });

  itContentTypes('handles invalid input (PUT)', (type) => async () => {
    let res = await k.put('/upstreams/00000000-0000-0000-0000-000000000001', { type, body: {} });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('schema violation (name: required field missing)');
    res = await k.put('/upstreams/1.2.3.4', { type, body: { created_at: 1461276890000 } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("Invalid name ('1.2.3.4'); no ip addresses allowed");
  });
});

describe('/upstreams GET', () => {
  beforeAll(async () => {
    await k.truncate('upstreams', 'targets');
    for (let i = 0; i < 10; i++) await k.bp.upstreams();
  });

  it(`${SPEC}: retrieves the first page`, async () => {
    const res = await k.get('/upstreams');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(10);
  });

  it(`${SPEC}: paginates a set`, async () => {
    const pages: unknown[] = [];
    let offset: string | undefined;
    for (let i = 1; i <= 4; i++) {
      const res = await k.get('/upstreams', { query: offset ? { size: 3, offset } : { size: 3 } });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(i < 4 ? 3 : 1);
      if (i > 1) expect(res.body).not.toEqual(pages[i - 2]);
      offset = res.body.offset;
      pages.push(res.body);
    }
  });

  it(`${SPEC}: ignores filters`, async () => {
    expect((await k.get('/upstreams', { query: { foo: 'bar' } })).status).toBe(200);
  });

  it(`${SPEC}: ignores an invalid body`, async () => {
    expect((await k.get('/upstreams', { body: 'this fails if decoded as json' })).status).toBe(200);
  });

  it(`${SPEC}: returns bad request for empty tags`, async () => {
    const res = await k.get('/upstreams?tags=');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('invalid option (tags: cannot be null)');
  });

  it(`${SPEC}: data property is an empty array`, async () => {
    await k.truncate('upstreams', 'targets');
    const res = await k.get('/upstreams');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], next: null });
  });
});

describe('/upstreams DELETE', () => {
  beforeEach(async () => {
    await k.truncate('upstreams', 'targets');
  });

  it(`${SPEC}: by id`, async () => {
    const res = await k.post('/upstreams', { body: { name: 'my-upstream', slots: 100 } });
    expect(res.status).toBe(201);
    expect((await k.delete(`/upstreams/${res.body.id}`)).status).toBe(204);
  });

  it(`${SPEC}: by name`, async () => {
    const res = await k.post('/upstreams', { body: { name: 'my-upstream', slots: 100 } });
    expect(res.status).toBe(201);
    expect((await k.delete(`/upstreams/${res.body.name}`)).status).toBe(204);
  });

  it(`${SPEC}: after deleting its targets (regression test for #4317)`, async () => {
    expect((await k.post('/upstreams', { body: { name: 'my-upstream', slots: 100 } })).status).toBe(201);
    expect((await k.post('/upstreams/my-upstream/targets', { body: { target: '127.0.0.1:8000' } })).status).toBe(201);
    expect((await k.delete('/upstreams/my-upstream/targets/127.0.0.1:8000', { headers: { 'content-type': 'application/json' } })).status).toBe(204);
    expect((await k.get('/upstreams/my-upstream')).status).toBe(200);
    expect((await k.delete('/upstreams/my-upstream')).status).toBe(204);
  });

  it(`${SPEC}: can delete an upstream with targets`, async () => {
    expect((await k.post('/upstreams', { body: { name: 'my-upstream', slots: 100 } })).status).toBe(201);
    expect((await k.post('/upstreams/my-upstream/targets', { body: { target: '127.0.0.1:8000' } })).status).toBe(201);
    expect((await k.delete('/upstreams/my-upstream')).status).toBe(204);
  });
});

it(`${SPEC}: returns 405 on invalid method`, async () => {
  const res = await k.delete('/upstreams', { headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(405);
  expect(res.body).toEqual({ message: 'Method not allowed' });
});

describe('#regression', () => {
  beforeAll(async () => {
    await k.truncate('upstreams', 'targets');
    for (const name of ['my-upstream', 'my-upstream-2', 'my-upstream-3']) await k.bp.upstreams({ name, slots: 100 });
  });

  it(`${SPEC}: page size 1`, async () => {
    let res = await k.get('/upstreams?size=1');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.offset).toBeTruthy();
    res = await k.get('/upstreams', { query: { size: 1, offset: res.body.offset } });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.offset).toBeTruthy();
    res = await k.get('/upstreams?size=2');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.offset).toBeTruthy();
  });
});
