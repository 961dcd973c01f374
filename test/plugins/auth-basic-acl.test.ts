// basic-auth credentials and acl groups end to end: Admin API CRUD with Kong's status codes and
// bodies against real Postgres, and the basic-auth / acl plugins in a real proxy fed by the
// Admin API's change events (no snapshot reload), in front of a real upstream.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { validatePluginConfig } from '../../src/plugins/registry.ts';
import type { ChangeEvent } from '../../src/entities/types.ts';
import { echoServer, get, type Upstream_ } from '../support/proxy-fixtures.ts';

let pool: pg.Pool;
let admin: AdminServer;
let proxy: ProxyServer;
let up: Upstream_;
let base: string;
let proxyBase: string;
const events: ChangeEvent[] = [];

type Res = { status: number; body: any };
async function call(method: string, path: string, body?: unknown, form?: string): Promise<Res> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = form;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

beforeAll(async () => {
  const db = await testDatabase('authacl');
  pool = createPool(db.conf);
  await bootstrap(pool);
  up = await echoServer();
  proxy = await createProxyServer({ snapshot: await loadSnapshot(pool) });
  proxyBase = `http://127.0.0.1:${(await proxy.listen(await freePort(), '127.0.0.1')).port}`;
  admin = createAdminServer({
    pool,
    nodeInfo: { id: '0b9c4a1e-6f2d-4c3b-8a7e-5d4c3b2a1f00', name: 'auth', hostname: 'auth', version: '0.1.0', role: 'traditional' },
    configSummary: {},
    onChanges: (evs) => {
      events.push(...evs);
      proxy.applyChanges(evs);
    },
  });
  base = `http://127.0.0.1:${(await admin.listen('127.0.0.1', await freePort())).port}`;
});

afterAll(async () => {
  await admin?.close();
  await proxy?.close();
  await up?.close();
  await pool?.end();
});

describe('basic-auth credentials (Admin API)', () => {
  test('create hashes the password like Kong; 409 on a duplicate username; 400 and 404 shapes', async () => {
    const alice = (await call('POST', '/consumers', { username: 'alice' })).body;
    const created = await call('POST', '/consumers/alice/basic-auth', { username: 'alice-user', password: 'open-sesame' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'alice-user', consumer: { id: alice.id }, tags: null });
    expect(created.body.password).toBe(sha1(`open-sesame${alice.id}`));
    expect(Object.keys(created.body).sort()).toEqual(['consumer', 'created_at', 'id', 'password', 'tags', 'username']);

    const form = await call('POST', '/consumers/alice/basic-auth', undefined, 'username=alice-2&password=p2&tags[]=t1');
    expect(form.status).toBe(201);
    expect(form.body.tags).toEqual(['t1']);

    const dup = await call('POST', '/consumers/alice/basic-auth', { username: 'alice-user', password: 'x' });
    expect(dup).toEqual({
      status: 409,
      body: { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '{username="alice-user"}'`, fields: { username: 'alice-user' } },
    });

    const missing = await call('POST', '/consumers/alice/basic-auth', { username: 'no-password' });
    expect(missing).toEqual({
      status: 400,
      body: { code: 2, name: 'schema violation', message: 'schema violation (password: required field missing)', fields: { password: 'required field missing' } },
    });
    const unknown = await call('POST', '/consumers/alice/basic-auth', { username: 'u', password: 'p', secret: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.fields).toEqual({ secret: 'unknown field' });

    expect(await call('GET', '/consumers/nobody/basic-auth')).toEqual({ status: 404, body: { message: 'Not found' } });
    expect(await call('POST', '/consumers/nobody/basic-auth', { username: 'x', password: 'y' })).toEqual({ status: 404, body: { message: 'Not found' } });
    expect((await call('GET', '/basic-auths/nobody')).status).toBe(404);
    expect((await call('GET', '/consumers/alice/basic-auth/alice-nobody')).status).toBe(404);
  });

  test('read by id or username, nested and top-level, the credential consumer, pages', async () => {
    const byName = await call('GET', '/basic-auths/alice-user');
    expect(byName.status).toBe(200);
    expect((await call('GET', `/basic-auths/${byName.body.id}`)).body.username).toBe('alice-user');
    expect((await call('GET', '/consumers/alice/basic-auth/alice-user')).body.id).toBe(byName.body.id);
    expect((await call('GET', '/basic-auths/alice-user/consumer')).body.username).toBe('alice');
    const list = await call('GET', '/consumers/alice/basic-auth');
    expect(list.body.data.map((c: { username: string }) => c.username).sort()).toEqual(['alice-2', 'alice-user']);
    const page = await call('GET', '/basic-auths?size=1');
    expect(page.body.data).toHaveLength(1);
    expect(page.body.next).toMatch(/^\/basic-auths\?offset=/);
    // Another consumer's credential is not found under alice.
    await call('POST', '/consumers', { username: 'bob' });
    await call('POST', '/consumers/bob/basic-auth', { username: 'bob-user', password: 'bob-pass' });
    expect((await call('GET', '/consumers/alice/basic-auth/bob-user')).status).toBe(404);
  });

  test('PATCH without a password keeps the hash; with one re-hashes; PUT upserts by username', async () => {
    const before = (await call('GET', '/basic-auths/alice-2')).body;
    const tagged = await call('PATCH', '/basic-auths/alice-2', { tags: ['x'] });
    expect(tagged.status).toBe(200);
    expect(tagged.body.password).toBe(before.password);
    const repass = await call('PATCH', '/consumers/alice/basic-auth/alice-2', { password: 'p3' });
    expect(repass.body.password).toBe(sha1(`p3${before.consumer.id}`));
    const put = await call('PUT', '/consumers/alice/basic-auth/alice-3', { password: 'p4' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ username: 'alice-3', password: sha1(`p4${before.consumer.id}`) });
    expect((await call('DELETE', '/basic-auths/alice-3')).status).toBe(204);
    expect((await call('GET', '/basic-auths/alice-3')).status).toBe(404);
    expect((await call('DELETE', '/basic-auths/alice-3')).status).toBe(204);
  });
});

describe('acl groups (Admin API)', () => {
  test('create, 409 on the same group twice for one consumer, the same group for another consumer is fine', async () => {
    const alice = (await call('GET', '/consumers/alice')).body;
    const a = await call('POST', '/consumers/alice/acls', { group: 'admins' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ group: 'admins', consumer: { id: alice.id }, tags: null });
    expect((await call('POST', '/consumers/alice/acls', undefined, 'group=readers')).status).toBe(201);
    const dup = await call('POST', '/consumers/alice/acls', { group: 'admins' });
    expect(dup).toEqual({
      status: 409,
      body: {
        code: 5,
        name: 'unique constraint violation',
        message: `UNIQUE violation detected on '{consumer={id="${alice.id}"},group="admins"}'`,
        fields: { consumer: { id: alice.id }, group: 'admins' },
      },
    });
    expect((await call('POST', '/consumers/bob/acls', { group: 'admins' })).status).toBe(201);
    const noGroup = await call('POST', '/consumers/alice/acls', {});
    expect(noGroup).toMatchObject({ status: 400, body: { code: 2, fields: { group: 'required field missing' } } });
    expect((await call('POST', '/consumers/nobody/acls', { group: 'g' })).status).toBe(404);
  });

  test('a group names an acl under its consumer only; /acls takes ids', async () => {
    const byGroup = await call('GET', '/consumers/alice/acls/admins');
    expect(byGroup.status).toBe(200);
    expect(byGroup.body.group).toBe('admins');
    expect((await call('GET', `/acls/${byGroup.body.id}`)).body.group).toBe('admins');
    expect((await call('GET', `/acls/${byGroup.body.id}/consumer`)).body.username).toBe('alice');
    expect(await call('GET', '/acls/admins')).toEqual({ status: 404, body: { message: 'Not found' } });
    expect((await call('GET', '/consumers/alice/acls')).body.data.map((x: { group: string }) => x.group).sort()).toEqual(['admins', 'readers']);
    expect((await call('GET', '/acls')).body.data).toHaveLength(3);
    const patched = await call('PATCH', '/consumers/alice/acls/readers', { tags: ['r'] });
    expect(patched.body).toMatchObject({ group: 'readers', tags: ['r'] });
    expect((await call('PUT', '/consumers/alice/acls/writers', {})).body.group).toBe('writers');
    expect((await call('DELETE', '/consumers/alice/acls/writers')).status).toBe(204);
    expect((await call('GET', '/consumers/alice/acls/writers')).status).toBe(404);
  });

  test('deleting a consumer deletes its credentials and groups, one event each', async () => {
    const c = (await call('POST', '/consumers', { username: 'temp' })).body;
    await call('POST', '/consumers/temp/basic-auth', { username: 'temp-user', password: 'x' });
    await call('POST', '/consumers/temp/acls', { group: 'g1' });
    const from = events.length;
    expect((await call('DELETE', '/consumers/temp')).status).toBe(204);
    const deleted = events.slice(from).map((e) => `${e.entity}:${e.op}`).sort();
    expect(deleted).toEqual(['acls:delete', 'basicauth_credentials:delete', 'consumers:delete']);
    expect((await call('GET', '/basic-auths/temp-user')).status).toBe(404);
    expect(Number((await pool.query('SELECT count(*) AS n FROM acls WHERE consumer_id = $1', [c.id])).rows[0].n)).toBe(0);
  });

  test('the proxy cache built from events hashes like a fresh snapshot from Postgres', async () => {
    const fresh = await loadSnapshot(pool);
    expect(fresh.basicauth_credentials!.length).toBeGreaterThan(0);
    expect(fresh.acls!.length).toBeGreaterThan(0);
    expect(configHash(proxy.runtime.store.snapshot())).toBe(configHash(fresh));
  });
});

describe('plugin schemas', () => {
  test('form bodies as in the README: config.allow[]= and config.hide_credentials=true', async () => {
    await call('POST', '/services', { name: 'form-svc', url: 'http://127.0.0.1:9' });
    await call('POST', '/services/form-svc/routes', { name: 'form-route', paths: ['/form-route'] });
    const acl = await call('POST', '/routes/form-route/plugins', undefined, 'name=acl&config.allow[]=admins');
    expect(acl.status).toBe(201);
    expect(acl.body.config).toMatchObject({ allow: ['admins'], deny: null });
    const ba = await call('POST', '/routes/form-route/plugins', undefined, 'name=basic-auth&config.hide_credentials=true');
    expect(ba.status).toBe(201);
    expect(ba.body.config).toEqual({ anonymous: null, hide_credentials: true, realm: 'service' });
    const both = await call('POST', '/routes/form-route/plugins', { name: 'acl', config: { allow: ['a'], deny: ['b'] } });
    // Kong's no_consumer: an auth plugin or acl cannot be scoped to a consumer.
    for (const name of ['basic-auth', 'acl', 'key-auth']) {
      const scoped = await call('POST', '/consumers/alice/plugins', { name, config: name === 'acl' ? { allow: ['a'] } : {} });
      expect(scoped, name).toMatchObject({ status: 400, body: { code: 2, fields: { consumer: 'value must be null' } } });
    }
    expect(both.status).toBe(400);
    await call('DELETE', `/plugins/${acl.body.id}`);
    await call('DELETE', `/plugins/${ba.body.id}`);
    await call('DELETE', '/routes/form-route');
    await call('DELETE', '/services/form-svc');
  });


  test('defaults and entity checks', () => {
    expect(validatePluginConfig('basic-auth', {})).toEqual({ ok: true, config: { anonymous: null, hide_credentials: false, realm: 'service' } });
    expect(validatePluginConfig('acl', { allow: ['a'] })).toEqual({
      ok: true,
      config: { allow: ['a'], deny: null, hide_groups_header: false, always_use_authenticated_groups: false },
    });
    expect(validatePluginConfig('acl', {}).ok).toBe(false);
    expect(validatePluginConfig('acl', { allow: ['a'], deny: ['b'] }).ok).toBe(false);
  });
});

describe('basic-auth and acl plugins through the proxy', () => {
  beforeAll(async () => {
    const svc = (await call('POST', '/services', { name: 'echo', url: `http://127.0.0.1:${up.port}` })).body;
    const route = async (name: string) => (await call('POST', '/services/echo/routes', { name, paths: [`/${name}`] })).body;
    await route('basic');
    await route('hide');
    await route('anon');
    await route('allow');
    await route('deny');
    await route('hidden-groups');
    await route('acl-only');
    await call('POST', '/consumers', { username: 'guest' });
    await call('POST', '/routes/basic/plugins', { name: 'basic-auth' });
    await call('POST', '/routes/hide/plugins', { name: 'basic-auth', config: { hide_credentials: true, realm: 'api' } });
    await call('POST', '/routes/anon/plugins', { name: 'basic-auth', config: { anonymous: 'guest' } });
    for (const r of ['allow', 'deny', 'hidden-groups']) await call('POST', `/routes/${r}/plugins`, { name: 'basic-auth' });
    await call('POST', '/routes/allow/plugins', { name: 'acl', config: { allow: ['admins'] } });
    await call('POST', '/routes/deny/plugins', { name: 'acl', config: { deny: ['admins'] } });
    await call('POST', '/routes/hidden-groups/plugins', { name: 'acl', config: { allow: ['readers'], hide_groups_header: true } });
    await call('POST', '/routes/acl-only/plugins', { name: 'acl', config: { allow: ['admins'] } });
    expect(svc.id).toBeTruthy();
  });

  test('no credentials: 401 Unauthorized with the realm challenge', async () => {
    const r = await get(`${proxyBase}/basic`);
    expect(r.status).toBe(401);
    expect(r.json().message).toBe('Unauthorized');
    expect(r.headers['www-authenticate']).toBe('Basic realm="service"');
    const realm = await get(`${proxyBase}/hide`);
    expect(realm.headers['www-authenticate']).toBe('Basic realm="api"');
  });

  test('wrong password, unknown user or a malformed header: 401 Invalid authentication credentials', async () => {
    for (const h of [basic('alice-user', 'wrong'), basic('nobody', 'x'), 'Basic !!!not-base64', 'Bearer abc', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      const r = await get(`${proxyBase}/basic`, { headers: { authorization: h } });
      expect(r.status, h).toBe(401);
      expect(r.json().message, h).toBe('Invalid authentication credentials');
      expect(r.headers['www-authenticate']).toBe('Basic realm="service"');
    }
    expect(up.hits).toBe(0);
  });

  test('right credentials reach the upstream with the consumer headers; Proxy-Authorization works too', async () => {
    const r = await get(`${proxyBase}/basic`, { headers: { authorization: basic('alice-user', 'open-sesame') } });
    expect(r.status).toBe(200);
    const h = r.json().headers;
    const alice = (await call('GET', '/consumers/alice')).body;
    expect(h['x-consumer-id']).toBe(alice.id);
    expect(h['x-consumer-username']).toBe('alice');
    expect(h['x-credential-identifier']).toBe('alice-user');
    expect(h['x-anonymous-consumer']).toBeUndefined();
    expect(h.authorization).toBe(basic('alice-user', 'open-sesame'));
    const viaProxy = await get(`${proxyBase}/basic`, { headers: { 'proxy-authorization': basic('bob-user', 'bob-pass') } });
    expect(viaProxy.json().headers['x-consumer-username']).toBe('bob');
    // A password with colons: everything after the first colon.
    await call('POST', '/consumers/bob/basic-auth', { username: 'bob-colon', password: 'a:b:c' });
    expect((await get(`${proxyBase}/basic`, { headers: { authorization: basic('bob-colon', 'a:b:c') } })).status).toBe(200);
  });

  test('hide_credentials strips the Authorization header upstream', async () => {
    const r = await get(`${proxyBase}/hide`, { headers: { authorization: basic('alice-user', 'open-sesame') } });
    expect(r.status).toBe(200);
    expect(r.json().headers.authorization).toBeUndefined();
    expect(r.json().headers['x-consumer-username']).toBe('alice');
  });

  test('anonymous: failed or missing credentials continue as the anonymous consumer', async () => {
    for (const headers of [{}, { authorization: basic('alice-user', 'wrong') }] as Record<string, string>[]) {
      const r = await get(`${proxyBase}/anon`, { headers });
      expect(r.status).toBe(200);
      expect(r.json().headers['x-anonymous-consumer']).toBe('true');
      expect(r.json().headers['x-consumer-username']).toBe('guest');
    }
    const ok = await get(`${proxyBase}/anon`, { headers: { authorization: basic('alice-user', 'open-sesame') } });
    expect(ok.json().headers['x-consumer-username']).toBe('alice');
    expect(ok.json().headers['x-anonymous-consumer']).toBeUndefined();
  });

  test('a password change and a deleted credential take effect through events', async () => {
    await call('PATCH', '/basic-auths/bob-colon', { password: 'new' });
    expect((await get(`${proxyBase}/basic`, { headers: { authorization: basic('bob-colon', 'a:b:c') } })).status).toBe(401);
    expect((await get(`${proxyBase}/basic`, { headers: { authorization: basic('bob-colon', 'new') } })).status).toBe(200);
    await call('DELETE', '/basic-auths/bob-colon');
    expect((await get(`${proxyBase}/basic`, { headers: { authorization: basic('bob-colon', 'new') } })).status).toBe(401);
  });

  test('acl allow: a member passes with X-Consumer-Groups, others get 403', async () => {
    const ok = await get(`${proxyBase}/allow`, { headers: { authorization: basic('alice-user', 'open-sesame') } });
    expect(ok.status).toBe(200);
    expect(String(ok.json().headers['x-consumer-groups']).split(', ').sort()).toEqual(['admins', 'readers']);
    // bob is in admins too; guest has no group at all.
    await call('DELETE', '/consumers/bob/acls/admins');
    const no = await get(`${proxyBase}/allow`, { headers: { authorization: basic('bob-user', 'bob-pass') } });
    expect(no.status).toBe(403);
    expect(no.json().message).toBe('You cannot consume this service');
    await call('POST', '/consumers/bob/acls', { group: 'admins' });
    expect((await get(`${proxyBase}/allow`, { headers: { authorization: basic('bob-user', 'bob-pass') } })).status).toBe(200);
  });

  test('acl deny: members of a denied group get 403, others pass', async () => {
    const alice = await get(`${proxyBase}/deny`, { headers: { authorization: basic('alice-user', 'open-sesame') } });
    expect(alice.status).toBe(403);
    await call('POST', '/consumers', { username: 'carol' });
    await call('POST', '/consumers/carol/basic-auth', { username: 'carol-user', password: 'c' });
    await call('POST', '/consumers/carol/acls', { group: 'readers' });
    const carol = await get(`${proxyBase}/deny`, { headers: { authorization: basic('carol-user', 'c') } });
    expect(carol.status).toBe(200);
    expect(carol.json().headers['x-consumer-groups']).toBe('readers');
  });

  test('hide_groups_header keeps the groups from the upstream; no consumer at all is a 401', async () => {
    const r = await get(`${proxyBase}/hidden-groups`, { headers: { authorization: basic('carol-user', 'c') } });
    expect(r.status).toBe(200);
    expect(r.json().headers['x-consumer-groups']).toBeUndefined();
    const noAuth = await get(`${proxyBase}/acl-only`);
    expect(noAuth.status).toBe(401);
    expect(noAuth.json().message).toBe('Unauthorized');
  });
});
