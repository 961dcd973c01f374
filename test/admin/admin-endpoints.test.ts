// Every route the Admin API registers gets at least one successful request here; the test
// fails when an endpoint is added without a happy path.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { z } from 'zod';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { plugins } from '../../src/plugins/registry.ts';
import { ssl } from '../support/tls-fixtures.ts';

plugins['gossamer-endpoints-test'] = {
  name: 'gossamer-endpoints-test',
  priority: 5,
  schema: z.strictObject({ n: z.number().default(1) }) as never,
  handler: async () => ({}),
};

let pool: pg.Pool;
let admin: AdminServer;
let base: string;

beforeAll(async () => {
  const db = await testDatabase('endpoints');
  pool = createPool(db.conf);
  await bootstrap(pool);
  admin = createAdminServer({ pool, nodeInfo: { id: '5d2c0b7a-4e3f-4a1b-9c8d-7e6f5a4b3c2d', name: 'e', hostname: 'e', version: '0.1.0', role: 'traditional' }, configSummary: {} });
  base = `http://127.0.0.1:${(await admin.listen('127.0.0.1', await freePort())).port}`;
});
afterAll(async () => {
  await admin?.close();
  await pool?.end();
});

test('every registered endpoint answers its happy path', async () => {
  const covered = new Set<string>();
  const ids: Record<string, string> = {};
  const call = async (method: string, path: string, status: number, body?: unknown) => {
    const m = admin.router.match(method, path.split('?')[0]!);
    expect(m.kind, `${method} ${path}`).toBe('found');
    if (m.kind === 'found') covered.add(`${method} ${m.pattern}`);
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, `${method} ${path} → ${text}`).toBe(status);
    return text ? JSON.parse(text) : undefined;
  };

  await call('GET', '/', 200);
  await call('GET', '/status', 200);
  await call('GET', '/endpoints', 200);

  // services + nested routes
  ids.svc = (await call('POST', '/services', 201, { name: 'svc', url: 'http://svc.test' })).id;
  await call('GET', '/services', 200);
  await call('GET', '/services/svc', 200);
  await call('PATCH', '/services/svc', 200, { retries: 2 });
  await call('PUT', '/services/svc2', 200, { host: 'svc2.test' });
  await call('POST', '/services/svc/routes', 201, { name: 'r1', paths: ['/r1'] });
  await call('GET', '/services/svc/routes', 200);
  await call('GET', '/services/svc/routes/r1', 200);
  await call('PATCH', '/services/svc/routes/r1', 200, { paths: ['/r1b'] });
  await call('PUT', '/services/svc/routes/r2', 200, { paths: ['/r2'] });
  await call('DELETE', '/services/svc/routes/r2', 204);

  // routes
  ids.route = (await call('POST', '/routes', 201, { name: 'r3', hosts: ['r3.test'], service: { id: ids.svc } })).id;
  await call('GET', '/routes', 200);
  await call('GET', '/routes/r3', 200);
  await call('PATCH', '/routes/r3', 200, { strip_path: false });
  await call('PUT', '/routes/r4', 200, { paths: ['/r4'] });
  await call('GET', '/routes/r3/service', 200);
  await call('PATCH', '/routes/r3/service', 200, { retries: 3 });
  await call('PUT', '/routes/r3/service', 200, { name: 'svc', url: 'http://svc.test' });
  // Kong never deletes a service through its route: 405 is the answer it gives.
  await call('DELETE', '/routes/r3/service', 405);
  await call('DELETE', '/routes/r4', 204);

  // consumers, key-auth
  ids.consumer = (await call('POST', '/consumers', 201, { username: 'c1' })).id;
  await call('GET', '/consumers', 200);
  await call('GET', '/consumers/c1', 200);
  await call('PATCH', '/consumers/c1', 200, { custom_id: 'cid' });
  await call('PUT', '/consumers/c2', 200, {});
  await call('POST', '/consumers/c1/key-auth', 201, { key: 'k1' });
  await call('GET', '/consumers/c1/key-auth', 200);
  await call('GET', '/consumers/c1/key-auth/k1', 200);
  await call('PATCH', '/consumers/c1/key-auth/k1', 200, { tags: ['t'] });
  await call('PUT', '/consumers/c1/key-auth/k2', 200, {});
  await call('DELETE', '/consumers/c1/key-auth/k2', 204);
  await call('GET', '/key-auths', 200);
  await call('GET', '/key-auths/k1', 200);
  await call('GET', '/key-auths/k1/consumer', 200);
  await call('PATCH', '/key-auths/k1', 200, { ttl: 100 });
  await call('PUT', '/key-auths/k3', 200, { consumer: { id: ids.consumer } });
  await call('DELETE', '/key-auths/k3', 204);
  await call('POST', '/key-auths', 201, { key: 'k4', consumer: { id: ids.consumer } });

  // basic-auth, acls
  await call('POST', '/consumers/c1/basic-auth', 201, { username: 'b1', password: 'p' });
  await call('GET', '/consumers/c1/basic-auth', 200);
  await call('GET', '/consumers/c1/basic-auth/b1', 200);
  await call('PATCH', '/consumers/c1/basic-auth/b1', 200, { tags: ['t'] });
  await call('PUT', '/consumers/c1/basic-auth/b2', 200, { password: 'p' });
  await call('DELETE', '/consumers/c1/basic-auth/b2', 204);
  await call('GET', '/basic-auths', 200);
  await call('GET', '/basic-auths/b1', 200);
  await call('GET', '/basic-auths/b1/consumer', 200);
  await call('PATCH', '/basic-auths/b1', 200, { password: 'q' });
  await call('PUT', '/basic-auths/b3', 200, { consumer: { id: ids.consumer }, password: 'p' });
  await call('DELETE', '/basic-auths/b3', 204);

  // jwt, hmac-auth
  await call('POST', '/consumers/c1/jwt', 201, { key: 'j1' });
  await call('GET', '/consumers/c1/jwt', 200);
  await call('GET', '/consumers/c1/jwt/j1', 200);
  await call('PATCH', '/consumers/c1/jwt/j1', 200, { tags: ['t'] });
  await call('PUT', '/consumers/c1/jwt/j2', 200, {});
  await call('DELETE', '/consumers/c1/jwt/j2', 204);
  await call('GET', '/jwts', 200);
  await call('GET', '/jwts/j1', 200);
  await call('GET', '/jwts/j1/consumer', 200);
  await call('PATCH', '/jwts/j1', 200, { secret: 's' });
  await call('PUT', '/jwts/j3', 200, { consumer: { id: ids.consumer } });
  await call('DELETE', '/jwts/j3', 204);
  await call('POST', '/jwts', 201, { key: 'j4', consumer: { id: ids.consumer } });
  await call('POST', '/consumers/c1/hmac-auth', 201, { username: 'h1' });
  await call('GET', '/consumers/c1/hmac-auth', 200);
  await call('GET', '/consumers/c1/hmac-auth/h1', 200);
  await call('PATCH', '/consumers/c1/hmac-auth/h1', 200, { tags: ['t'] });
  await call('PUT', '/consumers/c1/hmac-auth/h2', 200, {});
  await call('DELETE', '/consumers/c1/hmac-auth/h2', 204);
  await call('GET', '/hmac-auths', 200);
  await call('GET', '/hmac-auths/h1', 200);
  await call('GET', '/hmac-auths/h1/consumer', 200);
  await call('PATCH', '/hmac-auths/h1', 200, { secret: 's' });
  await call('PUT', '/hmac-auths/h3', 200, { consumer: { id: ids.consumer } });
  await call('DELETE', '/hmac-auths/h3', 204);
  await call('POST', '/hmac-auths', 201, { username: 'h4', consumer: { id: ids.consumer } });
  await call('POST', '/basic-auths', 201, { username: 'b4', password: 'p', consumer: { id: ids.consumer } });
  const acl = await call('POST', '/consumers/c1/acls', 201, { group: 'g1' });
  await call('GET', '/consumers/c1/acls', 200);
  await call('GET', '/consumers/c1/acls/g1', 200);
  await call('PATCH', '/consumers/c1/acls/g1', 200, { tags: ['t'] });
  await call('PUT', '/consumers/c1/acls/g2', 200, {});
  await call('DELETE', '/consumers/c1/acls/g2', 204);
  await call('GET', '/acls', 200);
  await call('GET', `/acls/${acl.id}`, 200);
  await call('GET', `/acls/${acl.id}/consumer`, 200);
  await call('PATCH', `/acls/${acl.id}`, 200, { group: 'g3' });
  await call('PUT', '/acls/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b', 200, { consumer: { id: ids.consumer }, group: 'g4' });
  await call('DELETE', '/acls/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b', 204);
  await call('POST', '/acls', 201, { group: 'g5', consumer: { id: ids.consumer } });

  // plugins, global and scoped
  const g = await call('POST', '/plugins', 201, { name: 'gossamer-endpoints-test', instance_name: 'global-one' });
  await call('GET', '/plugins', 200);
  await call('GET', `/plugins/${g.id}`, 200);
  await call('GET', '/plugins/global-one', 200);
  await call('PATCH', `/plugins/${g.id}`, 200, { config: { n: 2 } });
  await call('PUT', `/plugins/${g.id}`, 200, { name: 'gossamer-endpoints-test' });
  await call('GET', '/plugins/enabled', 200);
  await call('GET', '/plugins/schema/gossamer-endpoints-test', 200);
  for (const [scope, key] of [
    ['services', 'svc'],
    ['routes', 'r3'],
    ['consumers', 'c1'],
  ] as const) {
    const p = await call('POST', `/${scope}/${key}/plugins`, 201, { name: 'gossamer-endpoints-test' });
    await call('GET', `/${scope}/${key}/plugins`, 200);
    await call('GET', `/${scope}/${key}/plugins/${p.id}`, 200);
    await call('PATCH', `/${scope}/${key}/plugins/${p.id}`, 200, { enabled: false });
    await call('PUT', `/${scope}/${key}/plugins/${p.id}`, 200, { name: 'gossamer-endpoints-test' });
    await call('DELETE', `/${scope}/${key}/plugins/${p.id}`, 204);
  }
  await call('DELETE', `/plugins/${g.id}`, 204);

  // upstreams, targets
  await call('POST', '/upstreams', 201, { name: 'up.test' });
  await call('GET', '/upstreams', 200);
  await call('GET', '/upstreams/up.test', 200);
  await call('PATCH', '/upstreams/up.test', 200, { slots: 100 });
  await call('PUT', '/upstreams/up2.test', 200, {});
  await call('POST', '/upstreams/up.test/targets', 201, { target: 't1.test:80' });
  await call('GET', '/upstreams/up.test/targets', 200);
  await call('GET', '/upstreams/up.test/targets/t1.test:80', 200);
  await call('PATCH', '/upstreams/up.test/targets/t1.test:80', 200, { weight: 5 });
  // Kong's PUT on a target updates it (404 when there is none).
  await call('POST', '/upstreams/up.test/targets', 201, { target: 't2.test:81' });
  await call('PUT', '/upstreams/up.test/targets/t2.test:81', 200, { weight: 7 });
  await call('GET', '/upstreams/up.test/targets/all', 200);
  await call('DELETE', '/upstreams/up.test/targets/t2.test:81', 204);
  await call('DELETE', '/upstreams/up2.test', 204);

  // certificates (by id or SNI name), nested snis, snis, ca_certificates
  const pem = { cert: ssl.cert, key: ssl.key };
  ids.cert = (await call('POST', '/certificates', 201, { ...pem, snis: ['a.cert.test'] })).id;
  await call('GET', '/certificates', 200);
  await call('GET', '/certificates/a.cert.test', 200);
  await call('PATCH', '/certificates/a.cert.test', 200, { tags: ['t'] });
  await call('PUT', '/certificates/b.cert.test', 200, { ...pem, snis: ['b.cert.test'] });
  await call('POST', '/certificates/a.cert.test/snis', 201, { name: 'c.cert.test' });
  await call('GET', '/certificates/a.cert.test/snis', 200);
  await call('GET', '/certificates/a.cert.test/snis/c.cert.test', 200);
  await call('PATCH', '/certificates/a.cert.test/snis/c.cert.test', 200, { tags: ['t'] });
  await call('PUT', '/certificates/a.cert.test/snis/d.cert.test', 200, {});
  await call('DELETE', '/certificates/a.cert.test/snis/d.cert.test', 204);
  await call('POST', '/snis', 201, { name: '*.e.cert.test', certificate: { id: ids.cert } });
  await call('GET', '/snis', 200);
  await call('GET', '/snis/*.e.cert.test', 200);
  await call('PATCH', '/snis/*.e.cert.test', 200, { tags: ['t'] });
  await call('PUT', '/snis/f.cert.test', 200, { certificate: { id: ids.cert } });
  await call('DELETE', '/snis/f.cert.test', 204);
  await call('DELETE', '/certificates/b.cert.test', 204);
  ids.ca = (await call('POST', '/ca_certificates', 201, { cert: ssl.cert_ca })).id;
  await call('GET', '/ca_certificates', 200);
  await call('GET', `/ca_certificates/${ids.ca}`, 200);
  await call('PATCH', `/ca_certificates/${ids.ca}`, 200, { tags: ['t'] });
  await call('PUT', `/ca_certificates/${ids.ca}`, 200, { cert: ssl.cert_ca2 });
  await call('DELETE', `/ca_certificates/${ids.ca}`, 204);
  await call('DELETE', `/certificates/${ids.cert}`, 204);

  // schemas, tags
  await call('GET', '/schemas/services', 200);
  await call('POST', '/schemas/services/validate', 200, { host: 'v.test' });
  await call('GET', '/schemas/plugins/gossamer-endpoints-test', 200);
  await call('POST', '/schemas/plugins/validate', 200, { name: 'gossamer-endpoints-test' });
  await call('GET', '/tags', 200);
  await call('GET', '/tags/t', 200);

  // deletes last
  await call('DELETE', '/consumers/c2', 204);
  await call('DELETE', '/routes/r3', 204);
  await call('DELETE', '/services/svc/routes/r1', 204);
  await call('DELETE', '/services/svc', 204);
  await call('DELETE', '/consumers/c1', 204);
  await call('DELETE', '/key-auths/k1', 204);
  await call('DELETE', '/upstreams/up.test', 204);

  const registered = admin.router.list().map((r) => `${r.method} ${r.pattern}`);
  expect(registered.filter((r) => !covered.has(r))).toEqual([]);
  for (const t of ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'keyauth_credentials', 'basicauth_credentials', 'acls', 'jwt_secrets', 'hmacauth_credentials']) {
    expect(Number((await pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n), t).toBe(t === 'services' ? 1 : 0);
  }
});
