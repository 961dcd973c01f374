import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { plugins } from '../../src/plugins/registry.ts';
import type { ChangeEvent } from '../../src/entities/types.ts';

// A plugin of this file's own, so the tests do not depend on which bundled plugins exist.
plugins['gossamer-test-limit'] = {
  name: 'gossamer-test-limit',
  priority: 901,
  schema: z.strictObject({
    minute: z.number({ error: 'expected a number' }).optional(),
    hour: z.number({ error: 'expected a number' }).optional(),
    policy: z.enum(['local', 'cluster'], { error: 'expected one of: local, cluster' }).default('local'),
    hide_headers: z.boolean({ error: 'expected a boolean' }).default(false),
    // No message of its own: the Admin API must still answer in Kong's words.
    second: z.number().int().optional(),
  }) as never,
  handler: async () => ({}),
};

let pool: pg.Pool;
let admin: AdminServer;
let base: string;
const changes: ChangeEvent[][] = [];
const NODE_ID = '8c3e7f6a-1b2c-4d5e-9f00-123456789abc';

type Res = { status: number; body: any; headers: Headers };

async function call(method: string, path: string, body?: unknown, opts: { form?: string; raw?: string; type?: string; at?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = opts.form;
  } else if (opts.raw !== undefined) {
    headers['content-type'] = opts.type ?? 'application/json';
    payload = opts.raw;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${opts.at ?? base}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const count = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

beforeAll(async () => {
  const db = await testDatabase('admin');
  pool = createPool(db.conf);
  await bootstrap(pool);
  admin = createAdminServer({
    pool,
    nodeInfo: { id: NODE_ID, name: 'node-a', hostname: 'host-a', version: '0.1.0', role: 'traditional' },
    configSummary: { pg_host: db.host, pg_password: 'sekret', cluster_cert_key: '/x/key.pem', admin_listen: '127.0.0.1:8001' },
    onChanges: (events) => {
      changes.push(events);
    },
  });
  const addr = await admin.listen('127.0.0.1', await freePort());
  base = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await admin?.close();
  await pool?.end();
});

describe('root', () => {
  test('GET / names the node, its plugins, and hides secrets', async () => {
    const r = await call('GET', '/');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ version: '0.1.0', node_id: NODE_ID, hostname: 'host-a', tagline: 'Welcome to gossamer' });
    expect(r.body.plugins.available_on_server['gossamer-test-limit']).toMatchObject({ priority: 901 });
    expect(r.body.plugins.enabled_in_cluster).toEqual([]);
    // Kong shows its sensitive keys as ******.
    expect(r.body.configuration).toEqual({ pg_host: expect.any(String), pg_password: '******', cluster_cert_key: '******', admin_listen: '127.0.0.1:8001' });
    expect(JSON.stringify(r.body)).not.toContain('sekret');
  });

  test('GET /status has Kong’s shape', async () => {
    const r = await call('GET', '/status');
    expect(r.status).toBe(200);
    expect(r.body.database).toEqual({ reachable: true });
    expect(r.body.server).toMatchObject({ connections_active: expect.any(Number), total_requests: expect.any(Number), connections_accepted: expect.any(Number) });
    expect(r.body.memory.workers_lua_vms[0]).toMatchObject({ pid: process.pid });
  });

  test('unknown paths are 404, wrong methods 405, in Kong’s bodies', async () => {
    expect(await call('GET', '/nope')).toMatchObject({ status: 404, body: { message: 'Not found' } });
    expect(await call('GET', '/services/a/b/c/d')).toMatchObject({ status: 404, body: { message: 'Not found' } });
    expect(await call('DELETE', '/services')).toMatchObject({ status: 405, body: { message: 'Method not allowed' } });
    expect(await call('POST', '/status')).toMatchObject({ status: 405, body: { message: 'Method not allowed' } });
    const opt = await call('OPTIONS', '/services');
    expect(opt.status).toBe(204);
    expect(opt.headers.get('allow')).toContain('POST');
  });
});

describe('services', () => {
  test('POST with the url shorthand fills Kong’s defaults', async () => {
    const r = await call('POST', '/services', { name: 'example', url: 'https://example.com/anything' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'example',
      protocol: 'https',
      host: 'example.com',
      port: 443,
      path: '/anything',
      retries: 5,
      connect_timeout: 60000,
      write_timeout: 60000,
      read_timeout: 60000,
      enabled: true,
      tags: null,
      tls_verify: null,
      client_certificate: null,
    });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.created_at).toBeTypeOf('number');
    expect(r.body.updated_at).toBe(r.body.created_at);
    expect('url' in r.body).toBe(false);
  });

  test('url without a path leaves path null; port defaults follow the protocol', async () => {
    const a = await call('POST', '/services', { name: 'plain', url: 'http://plain.test' });
    expect(a.body).toMatchObject({ protocol: 'http', host: 'plain.test', port: 80, path: null });
    const b = await call('POST', '/services', { name: 'tls-one', protocol: 'https', host: 'secure.test' });
    expect(b.body).toMatchObject({ protocol: 'https', port: 443, path: null });
    const c = await call('POST', '/services', { name: 'port-x', url: 'http://p.test:8080/' });
    expect(c.body).toMatchObject({ port: 8080, path: '/' });
  });

  test('form bodies are coerced to the schema’s types', async () => {
    const r = await call('POST', '/services', undefined, { form: 'name=formed&host=f.test&port=8081&retries=2&tags[]=a&tags[]=b&enabled=false' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'formed', host: 'f.test', port: 8081, retries: 2, tags: ['a', 'b'], enabled: false });
  });

  test('multipart bodies (curl -F) work like forms', async () => {
    const fd = new FormData();
    fd.append('name', 'multi');
    fd.append('url', 'http://m.test:8088/x');
    fd.append('tags[]', 'm1');
    const res = await fetch(`${base}/services`, { method: 'POST', body: fd });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: 'multi', host: 'm.test', port: 8088, path: '/x', tags: ['m1'] });
  });

  test('GET by id and by name; PATCH; 404 for unknown', async () => {
    const created = (await call('POST', '/services', { name: 'lookup', host: 'l.test' })).body;
    expect((await call('GET', `/services/${created.id}`)).body).toEqual(created);
    expect((await call('GET', '/services/lookup')).body).toEqual(created);
    const p = await call('PATCH', '/services/lookup', { retries: 9, url: 'http://other.test:81/p' });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ id: created.id, name: 'lookup', retries: 9, host: 'other.test', port: 81, path: '/p', created_at: created.created_at });
    expect(await call('GET', '/services/nothing-here')).toMatchObject({ status: 404, body: { message: 'Not found' } });
    expect(await call('GET', '/services/00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404 });
    expect(await call('PATCH', '/services/nothing-here', { retries: 1 })).toMatchObject({ status: 404, body: { message: 'Not found' } });
  });

  test('PUT creates by name, then replaces (fields not given fall back to defaults)', async () => {
    const a = await call('PUT', '/services/upserted', { host: 'u.test', retries: 3 });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ name: 'upserted', host: 'u.test', retries: 3 });
    const b = await call('PUT', '/services/upserted', { host: 'u2.test' });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ id: a.body.id, name: 'upserted', host: 'u2.test', retries: 5, created_at: a.body.created_at });
    const id = '6f1c1b0e-8d62-4e0a-9d7c-5a4b3c2d1e0f';
    const c = await call('PUT', `/services/${id}`, { host: 'by-id.test' });
    expect(c.body).toMatchObject({ id, name: null, host: 'by-id.test' });
  });

  test('DELETE answers 204, also when already gone', async () => {
    const s = (await call('POST', '/services', { name: 'doomed', host: 'd.test' })).body;
    expect((await call('DELETE', '/services/doomed')).status).toBe(204);
    expect((await call('GET', `/services/${s.id}`)).status).toBe(404);
    expect((await call('DELETE', '/services/doomed')).status).toBe(204);
    expect((await call('DELETE', `/services/${s.id}`)).status).toBe(204);
  });

  test('schema violations have Kong’s code, name, message and fields', async () => {
    const one = await call('POST', '/services', {});
    expect(one).toMatchObject({
      status: 400,
      body: { code: 2, name: 'schema violation', message: 'schema violation (host: required field missing)', fields: { host: 'required field missing' } },
    });
    const many = await call('POST', '/services', { host: 'x.test', port: 'eighty', protocol: 'gopher', bogus: 1 });
    expect(many.status).toBe(400);
    expect(many.body.fields).toEqual({
      port: 'expected an integer',
      protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp',
      bogus: 'unknown field',
    });
    expect(many.body.message).toBe(
      '3 schema violations (bogus: unknown field; port: expected an integer; protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)',
    );
    const range = await call('POST', '/services', { host: 'x.test', port: 70000, retries: -1 });
    expect(range.body.fields).toEqual({ port: 'value should be between 0 and 65535', retries: 'value should be between 0 and 32767' });
    const path = await call('POST', '/services', { host: 'x.test', path: 'nope' });
    expect(path.body.fields).toEqual({ path: 'should start with: /' });
    expect((await call('POST', '/services', { host: 'x.test', path: '/a//b' })).body.fields).toEqual({ path: 'must not have empty segments' });
    expect((await call('POST', '/services', { host: 'x.test', path: '/a b' })).body.fields).toEqual({
      path: "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)",
    });
    expect((await call('POST', '/services', { host: 'x.test:80' })).body.fields).toEqual({ host: 'must not have a port' });
    expect((await call('POST', '/services', { host: 'bad host!' })).body.fields).toEqual({ host: 'invalid value: bad host!' });
    expect((await call('POST', '/services', { name: 'sp ace', host: 'x.test' })).body.fields).toEqual({
      name: "invalid value 'sp ace': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
    });
  });

  test('POST with an id that exists is Kong’s primary key violation', async () => {
    const s = (await call('POST', '/services', { host: 'pk.test' })).body;
    expect(await call('POST', '/services', { id: s.id, host: 'pk2.test' })).toMatchObject({
      status: 400,
      body: { code: 3, name: 'primary key violation', message: `primary key violation on key '{id="${s.id}"}'`, fields: { id: s.id } },
    });
  });

  test('a duplicate name is a 409 unique violation', async () => {
    await call('POST', '/services', { name: 'twin', host: 't.test' });
    const r = await call('POST', '/services', { name: 'twin', host: 't2.test' });
    expect(r).toMatchObject({
      status: 409,
      body: { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{name="twin"}'`, fields: { name: 'twin' } },
    });
  });

  test('broken JSON is Kong’s "Cannot parse JSON body"', async () => {
    expect(await call('POST', '/services', undefined, { raw: '{"host": ' })).toMatchObject({ status: 400, body: { message: 'Cannot parse JSON body' } });
  });

  test('pagination: size, offset, next, and bad size/offset', async () => {
    for (let i = 0; i < 5; i++) await call('POST', '/services', { name: `page-${i}`, host: 'p.test', tags: ['paged', i % 2 ? 'odd' : 'even'] });
    const all = await call('GET', '/services?tags=paged');
    expect(all.body.data).toHaveLength(5);
    expect(all.body.next).toBeNull();
    expect('offset' in all.body).toBe(false);
    const seen: string[] = [];
    let next: string | null = '/services?tags=paged&size=2';
    let pages = 0;
    while (next) {
      const r = await call('GET', next);
      expect(r.status).toBe(200);
      seen.push(...r.body.data.map((s: { name: string }) => s.name));
      if (r.body.next) {
        expect(r.body.offset).toBeTypeOf('string');
        expect(r.body.next).toContain(`offset=${encodeURIComponent(r.body.offset)}`);
        expect(r.body.next).toContain('size=2');
      }
      next = r.body.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect((await call('GET', '/services?tags=paged,odd')).body.data).toHaveLength(2);
    expect((await call('GET', '/services?tags=odd/even')).body.data).toHaveLength(5);
    expect(await call('GET', '/services?size=abc')).toMatchObject({ status: 400, body: { code: 9, name: 'invalid size', message: 'size must be a number' } });
    expect((await call('GET', '/services?size=1001')).body).toMatchObject({ code: 9, message: 'size must be an integer between 1 and 1000' });
    expect(await call('GET', '/services?offset=!!!')).toMatchObject({
      status: 400,
      body: { code: 7, name: 'invalid offset', message: "'!!!' is not a valid offset: bad base64 encoding" },
    });
  });
});

describe('routes', () => {
  test("route paths as Kong's typedefs.router_path: normalized fixed paths, regexes that compile, valid %-encoding", async () => {
    const bad = async (path: string) => {
      const r = await call('POST', '/routes', { paths: [path] });
      expect(r.status, path).toBe(400);
      return r.body.fields.paths[0];
    };
    expect(await bad('/foo//bar')).toBe("non-normalized path, consider use '/foo/bar' instead");
    expect(await bad('/foo/./bar')).toBe("non-normalized path, consider use '/foo/bar' instead");
    expect(await bad('/h%65llo')).toBe("non-normalized path, consider use '/hello' instead");
    expect(await bad('/foo%zz')).toBe("invalid url-encoded value: '%zz'");
    expect(await bad('~/status/(')).toMatch(/^invalid regex: '\/status\/\(' \(/);
    for (const good of ['/foo/bar', '/cat%20dog', '~/status/\\d+', '~/users/(?P<id>\\d+)']) {
      const r = await call('POST', '/routes', { paths: [good] });
      expect(r.status, good).toBe(201);
      expect((await call('DELETE', `/routes/${r.body.id}`)).status).toBe(204);
    }
  });

  test('PUT /routes/{id}/service on a route without a service creates one and points the route at it (Kong)', async () => {
    const r = await call('POST', '/routes', { name: 'lonely', paths: ['/lonely'] });
    expect(r.status).toBe(201);
    const put = await call('PUT', '/routes/lonely/service', { name: 'adopted', url: 'http://adopted.test' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'adopted', host: 'adopted.test' });
    expect((await call('GET', '/routes/lonely')).body.service).toEqual({ id: put.body.id });
    expect((await call('DELETE', '/routes/lonely')).status).toBe(204);
    expect((await call('DELETE', '/services/adopted')).status).toBe(204);
  });

  let svc: { id: string };
  beforeAll(async () => {
    svc = (await call('POST', '/services', { name: 'route-home', host: 'r.test' })).body;
  });

  test('POST /services/{name}/routes with paths[] (form) fills Kong’s defaults', async () => {
    const r = await call('POST', '/services/route-home/routes', undefined, { form: 'name=r1&paths[]=/a&paths[]=/b&methods=GET&methods=POST' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'r1',
      paths: ['/a', '/b'],
      methods: ['GET', 'POST'],
      protocols: ['http', 'https'],
      strip_path: true,
      preserve_host: false,
      regex_priority: 0,
      path_handling: 'v0',
      https_redirect_status_code: 426,
      request_buffering: true,
      response_buffering: true,
      hosts: null,
      headers: null,
      service: { id: svc.id },
    });
    const list = await call('GET', `/services/${svc.id}/routes`);
    expect(list.body.data.map((x: { name: string }) => x.name)).toEqual(['r1']);
    expect((await call('GET', '/services/route-home/routes/r1')).body.id).toBe(r.body.id);
    expect((await call('GET', '/routes/r1/service')).body.id).toBe(svc.id);
  });

  test('JSON route with headers and hosts; nested PATCH and DELETE', async () => {
    const r = await call('POST', '/routes', { name: 'r2', hosts: ['a.test', '*.wild.test'], headers: { 'x-v': ['1'] }, service: { id: svc.id } });
    expect(r.status).toBe(201);
    const p = await call('PATCH', '/services/route-home/routes/r2', { strip_path: false });
    expect(p.body).toMatchObject({ strip_path: false, hosts: ['a.test', '*.wild.test'] });
    expect((await call('PATCH', '/routes/r2', { paths: ['/c'] })).body.paths).toEqual(['/c']);
    const put = await call('PUT', '/services/route-home/routes/r3', { paths: ['/r3'] });
    expect(put).toMatchObject({ status: 200, body: { name: 'r3', paths: ['/r3'], service: { id: svc.id } } });
    expect((await call('PATCH', '/routes/r3/service', { retries: 7 })).body).toMatchObject({ id: svc.id, retries: 7 });
    expect((await call('DELETE', '/routes/r3')).status).toBe(204);
    expect((await call('DELETE', '/services/route-home/routes/r2')).status).toBe(204);
    expect((await call('GET', '/routes/r2')).status).toBe(404);
  });

  test('the "must set one of" rule, with Kong’s exact messages', async () => {
    const https = await call('POST', '/routes', { service: { id: svc.id } });
    expect(https.body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
      fields: { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] },
    });
    const http = await call('POST', '/routes', { protocols: ['http'] });
    expect(http.body.fields).toEqual({ '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"] });
  });

  test('field errors on routes: paths, protocols elements, service id', async () => {
    const r = await call('POST', '/routes', { paths: ['nope'], protocols: ['http', 'smtp'], service: { id: 'not-a-uuid' } });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({
      paths: ['should start with: / (fixed path) or ~/ (regex path)'],
      protocols: [null, 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp'],
      service: { id: 'expected a valid UUID' },
    });
    expect(r.body.message).toBe(
      '3 schema violations (paths.1: should start with: / (fixed path) or ~/ (regex path); protocols.2: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp; service.id: expected a valid UUID)',
    );
  });

  test('a route pointing at a missing service is a foreign key violation', async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const r = await call('POST', '/routes', { paths: ['/x'], service: { id } });
    expect(r).toMatchObject({
      status: 400,
      body: {
        code: 4,
        name: 'foreign key violation',
        message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
        fields: { service: { id } },
      },
    });
    expect((await call('POST', `/services/${id}/routes`, { paths: ['/x'] })).status).toBe(404);
  });

  test('a service with routes cannot be deleted (Kong’s message)', async () => {
    const r = await call('DELETE', '/services/route-home');
    expect(r).toMatchObject({
      status: 400,
      body: { code: 4, name: 'foreign key violation', message: "an existing 'routes' entity references this 'services' entity", fields: { '@referenced_by': 'routes' } },
    });
    expect((await call('GET', '/services/route-home')).status).toBe(200);
  });
});

describe('consumers, key-auth and plugins', () => {
  test('a consumer needs a username or a custom_id', async () => {
    const r = await call('POST', '/consumers', {});
    expect(r.body).toMatchObject({
      code: 2,
      message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
      fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
    });
    const c = await call('POST', '/consumers', { username: 'alice', custom_id: 'c-1' });
    expect(c.status).toBe(201);
    expect((await call('GET', '/consumers/alice')).body.id).toBe(c.body.id);
    expect((await call('GET', '/consumers?custom_id=c-1')).body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    expect((await call('POST', '/consumers', { custom_id: 'c-1' })).body).toMatchObject({ code: 5, fields: { custom_id: 'c-1' } });
  });

  test('key-auth: generated key, given key, uniqueness, lookup, listing', async () => {
    const gen = await call('POST', '/consumers/alice/key-auth', {});
    expect(gen.status).toBe(201);
    expect(gen.body.key).toMatch(/^[0-9a-f]{32}$/);
    expect(gen.body.consumer).toEqual({ id: (await call('GET', '/consumers/alice')).body.id });
    const given = await call('POST', '/consumers/alice/key-auth', undefined, { form: 'key=secret-key-1' });
    expect(given.body.key).toBe('secret-key-1');
    const dup = await call('POST', '/consumers/alice/key-auth', { key: 'secret-key-1' });
    expect(dup).toMatchObject({ status: 409, body: { code: 5, message: `UNIQUE violation detected on '{key="secret-key-1"}'`, fields: { key: 'secret-key-1' } } });
    expect((await call('GET', '/consumers/alice/key-auth')).body.data).toHaveLength(2);
    expect((await call('GET', '/key-auths/secret-key-1')).body.id).toBe(given.body.id);
    expect((await call('GET', '/key-auths/secret-key-1/consumer')).body.username).toBe('alice');
    expect((await call('GET', '/consumers/nobody/key-auth')).status).toBe(404);
    expect((await call('POST', '/consumers/nobody/key-auth', {})).status).toBe(404);
  });

  test('plugins: config validated and defaulted, form config.* coerced, scoped, unique per scope', async () => {
    const g = await call('POST', '/plugins', undefined, { form: 'name=gossamer-test-limit&config.minute=5&config.hide_headers=true' });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({
      name: 'gossamer-test-limit',
      config: { minute: 5, policy: 'local', hide_headers: true },
      enabled: true,
      protocols: ['grpc', 'grpcs', 'http', 'https'],
      service: null,
      route: null,
      consumer: null,
    });
    const bad = await call('POST', '/plugins', { name: 'gossamer-test-limit', config: { minute: 'five', policy: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({ config: { minute: 'expected a number', policy: 'expected one of: local, cluster' } });
    expect(bad.body.message).toBe('2 schema violations (config.minute: expected a number; config.policy: expected one of: local, cluster)');
    const plain = await call('POST', '/plugins', { name: 'gossamer-test-limit', config: { second: 'x', extra: 1 } });
    expect(plain.body.fields).toEqual({ config: { second: 'expected a number', extra: 'unknown field' } });
    const unknown = await call('POST', '/plugins', { name: 'no-such-plugin' });
    expect(unknown.body.fields).toEqual({ name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" });
    const dup = await call('POST', '/plugins', { name: 'gossamer-test-limit' });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe(`UNIQUE violation detected on '{consumer=null,name="gossamer-test-limit",route=null,service=null}'`);

    const scoped = await call('POST', '/consumers/alice/plugins', { name: 'gossamer-test-limit', config: { hour: 100 } });
    expect(scoped.status).toBe(201);
    expect(scoped.body.consumer).toEqual({ id: (await call('GET', '/consumers/alice')).body.id });
    const svcPlugin = await call('POST', '/services/route-home/plugins', { name: 'gossamer-test-limit' });
    expect(svcPlugin.status).toBe(201);
    expect((await call('GET', '/services/route-home/plugins')).body.data.map((p: { id: string }) => p.id)).toEqual([svcPlugin.body.id]);
    const patched = await call('PATCH', `/plugins/${g.body.id}`, { config: { hour: 10 } });
    expect(patched.body.config).toEqual({ minute: 5, hour: 10, policy: 'local', hide_headers: true });
    expect((await call('GET', '/plugins/enabled')).body.enabled_plugins).toContain('gossamer-test-limit');
    expect((await call('GET', '/')).body.plugins.enabled_in_cluster).toEqual(['gossamer-test-limit']);
  });

  test('deleting a consumer cascades its credentials and plugins, one event each', async () => {
    const before = changes.length;
    const consumer = (await call('GET', '/consumers/alice')).body;
    expect((await call('DELETE', '/consumers/alice')).status).toBe(204);
    const events = changes.slice(before).flat();
    expect(events.map((e) => `${e.entity}:${e.op}`).sort()).toEqual(
      ['consumers:delete', 'keyauth_credentials:delete', 'keyauth_credentials:delete', 'plugins:delete'].sort(),
    );
    expect(events.every((e) => e.data === null && e.node_id === NODE_ID)).toBe(true);
    expect(events.find((e) => e.entity === 'consumers')!.entity_id).toBe(consumer.id);
    expect(events.flatMap((e) => e.cache_keys)).toContain('keyauth_credentials:secret-key-1');
    expect((await call('GET', '/key-auths/secret-key-1')).status).toBe(404);
  });
});

describe('upstreams and targets', () => {
  test('upstream defaults include Kong’s healthchecks object', async () => {
    const r = await call('POST', '/upstreams', { name: 'backend.internal' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'backend.internal', algorithm: 'round-robin', slots: 10000, hash_on: 'none', hash_fallback: 'none', hash_on_cookie_path: '/' });
    expect(r.body.healthchecks).toEqual({
      active: {
        type: 'http',
        timeout: 1,
        concurrency: 10,
        http_path: '/',
        https_sni: null,
        https_verify_certificate: true,
        headers: null,
        healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
        unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      passive: {
        type: 'http',
        healthy: { http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308], successes: 0 },
        unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      threshold: 0,
    });
    const p = await call('PATCH', '/upstreams/backend.internal', { healthchecks: { active: { healthy: { interval: 5 } } } });
    expect(p.body.healthchecks.active.healthy).toEqual({ interval: 5, http_statuses: [200, 302], successes: 0 });
    expect((await call('POST', '/upstreams', { name: 'x', slots: 5 })).body.fields).toEqual({ slots: 'value should be between 10 and 65536' });
  });

  test('targets: default port 8000, weight, validation, uniqueness, lookup by target', async () => {
    const t = await call('POST', '/upstreams/backend.internal/targets', { target: '10.0.0.1' });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ target: '10.0.0.1:8000', weight: 100 });
    const t2 = await call('POST', '/upstreams/backend.internal/targets', undefined, { form: 'target=b.test:9000&weight=5' });
    expect(t2.body).toMatchObject({ target: 'b.test:9000', weight: 5 });
    expect((await call('POST', '/upstreams/backend.internal/targets', { target: 'b.test:9000' })).status).toBe(409);
    expect((await call('POST', '/upstreams/backend.internal/targets', { target: 'a b', weight: 70000 })).body.fields).toEqual({
      target: 'Invalid target; not a valid hostname or ip address',
      weight: 'value should be between 0 and 65535',
    });
    expect((await call('GET', '/upstreams/backend.internal/targets/b.test:9000')).body.id).toBe(t2.body.id);
    expect((await call('GET', '/upstreams/backend.internal/targets')).body.data).toHaveLength(2);
  });

  test('deleting an upstream cascades its targets', async () => {
    const before = await count('targets');
    expect(before).toBe(2);
    expect((await call('DELETE', '/upstreams/backend.internal')).status).toBe(204);
    expect(await count('targets')).toBe(0);
  });
});

describe('events and read-only nodes', () => {
  test('every write commits one cluster_events row per entity, handed to onChanges before the response', async () => {
    const eventsBefore = await count('cluster_events');
    const seenBefore = changes.flat().length;
    const r = await call('POST', '/services', { name: 'evented', host: 'e.test' });
    const mine = changes.flat().slice(seenBefore);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ entity: 'services', op: 'create', entity_id: r.body.id, data: r.body, cache_keys: [`services:${r.body.id}`], node_id: NODE_ID });
    expect(await count('cluster_events')).toBe(eventsBefore + 1);
    const row = (await pool.query('SELECT * FROM cluster_events WHERE entity_id = $1', [r.body.id])).rows[0];
    expect(Number(row.config_version)).toBe(mine[0]!.config_version);
  });

  test('a read-only (data plane) server refuses writes with its message', async () => {
    const ro = createAdminServer({
      pool,
      nodeInfo: { id: NODE_ID, name: 'dp', hostname: 'h', version: '0.1.0', role: 'data_plane' },
      configSummary: {},
      readOnly: 'this node is a data plane: make changes on a control plane',
    });
    const addr = await ro.listen('127.0.0.1', await freePort());
    const at = `http://127.0.0.1:${addr.port}`;
    try {
      const r = await call('POST', '/services', { host: 'x.test' }, { at });
      expect(r).toMatchObject({ status: 400, body: { message: 'this node is a data plane: make changes on a control plane' } });
      expect((await call('DELETE', '/services/evented', undefined, { at })).status).toBe(400);
      expect((await call('GET', '/services/evented', undefined, { at })).status).toBe(200);
    } finally {
      await ro.close();
    }
  });

  test('a database outage answers 503 with the cause, and /status says unreachable', async () => {
    const port = await freePort();
    const dead = createPool({ pg_host: '127.0.0.1', pg_port: port, pg_user: 'x', pg_password: 'x', pg_database: 'x' });
    const down = createAdminServer({ pool: dead, nodeInfo: { id: NODE_ID, name: 'n', hostname: 'h', version: '0.1.0', role: 'traditional' }, configSummary: {} });
    const addr = await down.listen('127.0.0.1', await freePort());
    const at = `http://127.0.0.1:${addr.port}`;
    try {
      expect(await call('POST', '/services', { host: 'x.test' }, { at })).toMatchObject({
        status: 503,
        body: { message: 'database unavailable: connection refused; writes are refused until it returns' },
      });
      expect(await call('GET', '/services', undefined, { at })).toMatchObject({ status: 503, body: { message: 'database unavailable: connection refused' } });
      expect((await call('GET', '/status', undefined, { at })).body.database).toEqual({ reachable: false });
      expect((await call('GET', '/', undefined, { at })).status).toBe(200);
    } finally {
      await down.close();
      await dead.end();
    }
  });
});

describe('extension points', () => {
  test('router.add registers a resource group of another part; listen on two addresses', async () => {
    const extra = createAdminServer({ pool, nodeInfo: { id: NODE_ID, name: 'x', hostname: 'h', version: '0.1.0', role: 'traditional' }, configSummary: {} });
    extra.router.add('GET', '/cluster/members/:id', (req) => ({ status: 200, body: { data: [{ id: req.params.id }], total: 1 } }));
    extra.router.add('GET', '/metrics', () => ({ status: 200, headers: { 'Content-Type': 'text/plain; version=0.0.4' }, body: 'up 1\n' }));
    const a = await extra.listen('127.0.0.1', await freePort());
    const b = await extra.listen('127.0.0.1', await freePort());
    try {
      for (const addr of [a, b]) {
        const at = `http://127.0.0.1:${addr.port}`;
        expect((await call('GET', '/cluster/members/n%201', undefined, { at })).body).toEqual({ data: [{ id: 'n 1' }], total: 1 });
        const m = await fetch(`${at}/metrics`);
        expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4');
        expect(await m.text()).toBe('up 1\n');
      }
      expect((await call('DELETE', '/cluster/members/x', undefined, { at: `http://127.0.0.1:${a.port}` })).status).toBe(405);
    } finally {
      await extra.close();
    }
  });
});

describe('schemas, tags, endpoints', () => {
  test('POST /schemas/{entity}/validate runs the write path’s validation without writing', async () => {
    const events = await count('cluster_events');
    expect(await call('POST', '/schemas/services/validate', { url: 'http://v.test' })).toMatchObject({ status: 200, body: { message: 'schema validation successful' } });
    expect((await call('POST', '/schemas/routes/validate', { protocols: ['http'] })).body.fields).toEqual({
      '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"],
    });
    expect((await call('POST', '/schemas/plugins/validate', undefined, { form: 'name=gossamer-test-limit&config.minute=x' })).body.fields).toEqual({ config: { minute: 'expected a number' } });
    expect((await call('POST', '/schemas/plugins/validate', { name: 'gossamer-test-limit', config: { minute: 1 } })).status).toBe(200);
    expect((await call('POST', '/schemas/nothing/validate', {})).status).toBe(404);
    expect((await call('GET', '/schemas/upstreams')).body).toMatchObject({ name: 'upstreams', endpoint_key: 'name' });
    expect((await call('GET', '/schemas/plugins/gossamer-test-limit')).body).toMatchObject({ name: 'gossamer-test-limit', priority: 901 });
    expect(await count('cluster_events')).toBe(events);
  });

  test('GET /tags and /tags/{tag} list tagged entities, paged', async () => {
    const s = (await call('POST', '/services', { name: 'tagged', host: 't.test', tags: ['zz-blue', 'zz-green'] })).body;
    const c = (await call('POST', '/consumers', { username: 'tagged', tags: ['zz-blue'] })).body;
    const blue = await call('GET', '/tags/zz-blue');
    expect(blue.body.data).toEqual(
      expect.arrayContaining([
        { entity_name: 'services', entity_id: s.id, tag: 'zz-blue' },
        { entity_name: 'consumers', entity_id: c.id, tag: 'zz-blue' },
      ]),
    );
    expect(blue.body.data).toHaveLength(2);
    const first = await call('GET', '/tags/zz-blue?size=1');
    expect(first.body.data).toHaveLength(1);
    const second = await call('GET', first.body.next);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.data[0]).not.toEqual(first.body.data[0]);
    expect(second.body.next).toBeNull();
    expect((await call('GET', '/tags')).body.data.length).toBeGreaterThanOrEqual(3);
  });

  test('GET /endpoints lists every pattern in Kong’s {param} style', async () => {
    const r = await call('GET', '/endpoints');
    expect(r.body.data).toEqual(expect.arrayContaining(['/', '/status', '/services/{services}/routes', '/upstreams/{upstreams}/targets/{targets}', '/consumers/{consumers}/key-auth']));
  });
});
