// `gossamer config db_import` / `db_export` on a real Postgres, through the real CLI: Kong's
// nested declarative format goes in with its references resolved, a second import changes
// nothing, an export imported into an empty database gives the same configuration, and a bad
// file lists every problem and writes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import type { ConfigSnapshot } from '../../src/entities/types.ts';
import { runCli } from '../support/cli.ts';
import { testDatabase, type TestDatabase } from '../support/pg.ts';

let dir: string;
const pools: pg.Pool[] = [];

async function database(name: string): Promise<{ conf: string; pool: pg.Pool; db: TestDatabase }> {
  const db = await testDatabase(name);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, Object.entries(db.conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  const boot = await runCli(['migrations', 'bootstrap', '-c', conf]);
  expect(boot.code, boot.stderr).toBe(0);
  const pool = new pg.Pool({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database, max: 2 });
  pools.push(pool);
  return { conf, pool, db };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-declarative-'));
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const KONG_YML = `_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:9/base
    routes:
      - name: r1
        paths: [/r1]
        plugins:
          - name: key-auth
    plugins:
      - name: rate-limiting
        config: { minute: 5, policy: local }
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
    basicauth_credentials:
      - username: alice
        password: open-sesame
    acls:
      - group: admins
upstreams:
  - name: up1
    targets:
      - target: 127.0.0.1:9001
        weight: 50
routes:
  - name: r2
    service: echo
    paths: [/r2]
plugins:
  - name: cors
    route: r2
`;

/** Every entity without its timestamps, by kind, in id order: what two databases must share. */
function entitiesOf(s: ConfigSnapshot): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(s)) {
    if (!Array.isArray(v)) continue;
    out[k] = (v as Record<string, unknown>[])
      .map(({ created_at: _c, updated_at: _u, ...rest }) => rest)
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }
  return out;
}

test('a nested Kong file is imported with its references; importing it again changes nothing', async () => {
  const { conf, pool } = await database('decl_a');
  const file = path.join(dir, 'kong.yml');
  fs.writeFileSync(file, KONG_YML);
  const first = await runCli(['config', 'db_import', file, '-c', conf]);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/import successful: 12 created, 0 replaced/);

  const s = await loadSnapshot(pool);
  const echo = s.services.find((x) => x.name === 'echo')!;
  const r1 = s.routes.find((x) => x.name === 'r1')!;
  const r2 = s.routes.find((x) => x.name === 'r2')!;
  expect(echo.path).toBe('/base');
  expect(r1.service?.id).toBe(echo.id);
  expect(r2.service?.id).toBe(echo.id);
  const byName = (n: string) => s.plugins.find((p) => p.name === n)!;
  expect(byName('key-auth').route?.id).toBe(r1.id);
  expect(byName('rate-limiting').service?.id).toBe(echo.id);
  expect(byName('cors').route?.id).toBe(r2.id);
  const alice = s.consumers.find((c) => c.username === 'alice')!;
  expect(s.keyauth_credentials[0]!.consumer.id).toBe(alice.id);
  expect(s.acls?.[0]?.group).toBe('admins');
  expect(s.targets[0]!.upstream.id).toBe(s.upstreams[0]!.id);
  // Passwords are hashed on import (_transform defaults to true), as the Admin API does.
  expect(s.basicauth_credentials).toHaveLength(1);
  expect(s.basicauth_credentials?.[0]?.password).not.toBe('open-sesame');
  // Every entity is a cluster event: running nodes pick the import up like any write.
  expect(Number((await pool.query('SELECT count(*) AS n FROM cluster_events')).rows[0].n)).toBe(12);

  const again = await runCli(['config', 'db_import', file, '-c', conf]);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toMatch(/import successful: 0 created, 12 replaced/);
  expect(entitiesOf(await loadSnapshot(pool))).toEqual(entitiesOf(s));
});

test('an export imported into an empty database gives the same configuration, hashed passwords included', async () => {
  const a = await database('decl_b');
  const file = path.join(dir, 'kong-b.yml');
  fs.writeFileSync(file, KONG_YML);
  expect((await runCli(['config', 'db_import', file, '-c', a.conf])).code).toBe(0);
  const out = path.join(dir, 'export.yml');
  const exp = await runCli(['config', 'db_export', out, '-c', a.conf]);
  expect(exp.code, exp.stderr).toBe(0);
  const doc = parse(fs.readFileSync(out, 'utf8'));
  expect(doc._format_version).toBe('3.0');
  expect(doc._transform).toBe(false);
  expect(typeof doc.routes[0].service).toBe('string');

  const b = await database('decl_c');
  const imp = await runCli(['config', 'db_import', out, '-c', b.conf]);
  expect(imp.code, imp.stderr).toBe(0);
  expect(entitiesOf(await loadSnapshot(b.pool))).toEqual(entitiesOf(await loadSnapshot(a.pool)));
  const stdout = await runCli(['config', 'db_export', '-', '-c', b.conf]);
  expect(stdout.stdout).toBe(fs.readFileSync(out, 'utf8'));
});

test('a bad file lists every problem with where it is, and nothing is written', async () => {
  const { conf, pool } = await database('decl_d');
  const file = path.join(dir, 'bad.yml');
  fs.writeFileSync(
    file,
    `_format_version: "3.0"
services:
  - name: ok
    url: http://127.0.0.1:9/
  - name: bad
    url: http://127.0.0.1:9/
    retries: many
routes:
  - name: lost
    service: no-such-service
    paths: [/lost]
things: []
`,
  );
  const r = await runCli(['config', 'db_import', file, '-c', conf]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/things: unknown field/);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('things: []\n', ''));
  const r2 = await runCli(['config', 'db_import', file, '-c', conf]);
  expect(r2.code).toBe(1);
  expect(r2.stderr).toMatch(/services\[1\]\.retries: expected an integer/);
  expect(r2.stderr).toMatch(/routes\[0\]\.service: 'no-such-service' is not in this file nor in the database/);
  expect(r2.stderr).toMatch(/nothing was imported/);
  expect(Number((await pool.query('SELECT count(*) AS n FROM services')).rows[0].n)).toBe(0);

  fs.writeFileSync(file, '_format_version: "4.0"\nservices: []\n');
  const r3 = await runCli(['config', 'db_import', file, '-c', conf]);
  expect(r3.code).toBe(1);
  expect(r3.stderr).toMatch(/_format_version: expected one of: 1.1, 2.1, 3.0/);
});
