// The new plugins in Kong's declarative format on a real Postgres: consumers[].jwt_secrets and
// consumers[].hmacauth_credentials nest under their consumer, the plugins' configs import with
// Kong's defaults filled, an export of the result imports again unchanged, and the imported
// credentials authenticate through a proxy built from the database. A snapshot written before
// these entities existed (without their lists) still loads.
import { generateKeyPairSync, createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import type pg from 'pg';
import type { ConfigSnapshot } from '../../src/entities/types.ts';
import { testDatabase } from '../support/pg.ts';
import { echoServer, get, plugin, route, service, snapshot, type Upstream_ } from '../support/proxy-fixtures.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { createProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { parseDeclarative } from '../../src/declarative/parse.ts';
import { importDeclarative } from '../../src/declarative/import.ts';
import { exportDeclarative } from '../../src/declarative/export.ts';
import { encodeJwt } from '../../src/plugins/jwt/parser.ts';

let pool: pg.Pool;
let up: Upstream_;
const proxies: ProxyServer[] = [];
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;

beforeAll(async () => {
  pool = createPool((await testDatabase('plugdecl')).conf);
  await bootstrap(pool);
  up = await echoServer();
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  await up?.close();
  await pool?.end();
});

async function proxyOf(s: ConfigSnapshot): Promise<string> {
  const p = await createProxyServer({ snapshot: s });
  proxies.push(p);
  return `http://127.0.0.1:${(await p.listen(0, '127.0.0.1')).port}`;
}

const yml = () => `_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:${up.port}
    routes:
      - name: jwt
        paths: [/jwt]
        plugins:
          - name: jwt
      - name: hmac
        paths: [/hmac]
        plugins:
          - name: hmac-auth
      - name: closed
        paths: [/closed]
        plugins:
          - name: request-termination
            config: { status_code: 403, message: closed }
plugins:
  - name: correlation-id
    config: { echo_downstream: true }
  - name: bot-detection
consumers:
  - username: alice
    jwt_secrets:
      - key: alice-hs
        secret: alice-secret
      - key: alice-rs
        algorithm: RS256
        rsa_public_key: |
${publicPem.trim().split('\n').map((l) => `          ${l}`).join('\n')}
    hmacauth_credentials:
      - username: alice-hmac
        secret: hmac-secret
`;

test('jwt_secrets and hmacauth_credentials nest under consumers; the plugins import with defaults; export → import is stable', async () => {
  const r = await importDeclarative(pool, parseDeclarative(yml(), 'kong.yml'));
  expect(r).toEqual({ created: 13, updated: 0 });
  const s = await loadSnapshot(pool);
  const alice = s.consumers.find((c) => c.username === 'alice')!;
  expect(s.jwt_secrets?.map((j) => [j.key, j.algorithm, j.consumer.id]).sort()).toEqual([['alice-hs', 'HS256', alice.id], ['alice-rs', 'RS256', alice.id]]);
  expect(s.hmacauth_credentials?.map((h) => [h.username, h.secret, h.consumer.id])).toEqual([['alice-hmac', 'hmac-secret', alice.id]]);
  const config = (n: string) => s.plugins.find((p) => p.name === n)!.config;
  expect(config('correlation-id')).toEqual({ header_name: 'Kong-Request-ID', generator: 'uuid#counter', echo_downstream: true });
  expect(config('bot-detection')).toEqual({ allow: [], deny: [] });
  expect(config('jwt')).toMatchObject({ key_claim_name: 'iss', uri_param_names: ['jwt'] });

  const exported = exportDeclarative(s);
  // db_export is flat, like Kong's: one list per entity, the consumer as its id.
  const doc = parse(exported) as { jwt_secrets: { consumer: string }[]; hmacauth_credentials: { consumer: string; secret: string }[] };
  expect(doc.jwt_secrets.map((j) => j.consumer)).toEqual([alice.id, alice.id]);
  expect(doc.hmacauth_credentials).toMatchObject([{ consumer: alice.id, secret: 'hmac-secret' }]);
  expect(await importDeclarative(pool, parseDeclarative(exported, 'export.yml'))).toEqual({ created: 0, updated: 13 });
});

test('an RS256 secret without rsa_public_key is refused with its place in the file', async () => {
  const bad = `_format_version: "3.0"\nconsumers:\n  - username: bob\n    jwt_secrets:\n      - key: bob-rs\n        algorithm: RS256\n`;
  await expect(importDeclarative(pool, parseDeclarative(bad, 'bad.yml'))).rejects.toThrow(/rsa_public_key/);
  expect((await loadSnapshot(pool)).jwt_secrets?.some((j) => j.key === 'bob-rs')).toBe(false);
});

test('the imported configuration authenticates through a proxy built from the database', async () => {
  const base = await proxyOf(await loadSnapshot(pool));
  const now = Math.floor(Date.now() / 1000);
  const hs = await get(`${base}/jwt`, { headers: { authorization: `Bearer ${encodeJwt({ iss: 'alice-hs', exp: now + 60 }, 'alice-secret')}` } });
  expect([hs.status, hs.json().headers['x-consumer-username'], hs.json().headers['x-credential-identifier']]).toEqual([200, 'alice', 'alice-hs']);
  expect(hs.headers['kong-request-id']).toBe(hs.json().headers['kong-request-id']);
  const rs = await get(`${base}/jwt?jwt=${encodeJwt({ iss: 'alice-rs' }, rsa.privateKey, 'RS256')}`);
  expect(rs.status).toBe(200);
  const date = new Date().toUTCString();
  const signature = createHmac('sha256', 'hmac-secret').update(`date: ${date}`).digest('base64');
  const hmac = await get(`${base}/hmac`, { headers: { date, authorization: `hmac username="alice-hmac", algorithm="hmac-sha256", headers="date", signature="${signature}"` } });
  expect([hmac.status, hmac.json().headers['x-credential-identifier']]).toEqual([200, 'alice-hmac']);
  expect((await get(`${base}/closed`)).status).toBe(403);
  expect((await get(`${base}/jwt`, { headers: { 'user-agent': 'Googlebot/2.1' } })).status).toBe(403);
});

test('a snapshot without jwt_secrets and hmacauth_credentials (written before they existed) loads', async () => {
  const s = service({ port: up.port });
  const r = route(s, { paths: ['/old'] });
  const old = snapshot({ services: [s], routes: [r], plugins: [plugin('jwt', {}, { route: { id: r.id } })] });
  expect('jwt_secrets' in old).toBe(false);
  const base = await proxyOf(old);
  const res = await get(`${base}/old`, { headers: { authorization: `Bearer ${encodeJwt({ iss: 'nobody' }, 'x')}` } });
  expect([res.status, res.json().message]).toEqual([401, "No credentials found for given 'iss'"]);
});
