// Upgrading a database bootstrapped by gossamer 0.1.0, when key-auth's, basic-auth's and acl's
// tables were core migrations (001 and 004), to plugins that own their migrations: `gossamer
// migrations up` records the plugins' migrations as no-ops, the schema ends up the same as a
// new database's, and the old credentials keep working through the Admin API and the cache.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Command } from 'commander';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { RELEASE_0_1_0_MIGRATIONS } from '../support/release-0.1.0-migrations.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { assertBootstrapped, bootstrap, migrations, status, up } from '../../src/db/migrate.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { migrationsCommand } from '../../src/cli/migrations.ts';
import { createAdminServer, type AdminServer } from '../../src/admin/index.ts';
import { EntityStore } from '../../src/cache/entity-store.ts';
import { pluginMigrations } from '../../src/plugins/registry.ts';

let old: TestDatabase;
let oldPool: Pool;
let freshPool: Pool;
let admin: AdminServer;
let base: string;

const ALICE = '6a1f0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b';
const KEY = 'b1c4d0d2-7a3e-4c0f-9d3b-0e6f5a4b3c21';
const BASIC = 'c2d5e1e3-8b4f-4d1a-8e4c-1f7a6b5c4d32';
const ACL = 'd3e6f2f4-9c5a-4e2b-9f5d-2a8b7c6d5e43';

/** What `gossamer migrations bootstrap` of 0.1.0 did: its four migrations, its ledger, a secret. */
async function bootstrapRelease010(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE schema_migrations (name text PRIMARY KEY, executed_at timestamptz NOT NULL DEFAULT now())`);
  for (const m of RELEASE_0_1_0_MIGRATIONS) {
    await pool.query(m.up);
    await pool.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
  }
  await pool.query(`INSERT INTO cluster_settings (key, value) VALUES ('cluster_secret', $1)`, [randomBytes(32).toString('hex')]);
  // A consumer with one credential of each kind, written as 0.1.0 stored them.
  await pool.query(`INSERT INTO consumers (id, created_at, updated_at, username) VALUES ($1, now(), now(), 'alice')`, [ALICE]);
  await pool.query(`INSERT INTO keyauth_credentials (id, created_at, consumer_id, key) VALUES ($1, now(), $2, 'old-key')`, [KEY, ALICE]);
  const hash = createHash('sha1').update('old-pass').update(ALICE).digest('hex');
  await pool.query(`INSERT INTO basicauth_credentials (id, created_at, consumer_id, username, password) VALUES ($1, now(), $2, 'alice-basic', $3)`, [BASIC, ALICE, hash]);
  await pool.query(`INSERT INTO acls (id, created_at, consumer_id, "group") VALUES ($1, now(), $2, 'admins')`, [ACL, ALICE]);
}

async function runCli(args: string[], conf: TestDatabase['conf']): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    const program = new Command().exitOverride();
    program.addCommand(migrationsCommand(() => conf as never));
    await program.parseAsync(['node', 'gossamer', 'migrations', ...args]);
  } finally {
    console.log = log;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, out: out.join('\n') };
}

/** Tables, columns, constraints and indexes of the public schema, comparable across databases. */
async function schemaOf(pool: Pool): Promise<unknown> {
  const columns = await pool.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name, column_name`,
  );
  const constraints = await pool.query(
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`,
  );
  const indexes = await pool.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`);
  const sequences = await pool.query(`SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`);
  return { columns: columns.rows, constraints: constraints.rows, indexes: indexes.rows, sequences: sequences.rows };
}

type Res = { status: number; body: any };
async function call(method: string, path: string, body?: unknown): Promise<Res> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Core migrations newer than 0.1.0. */
const LATER_CORE = ['005_tls_entities'];

beforeAll(async () => {
  old = await testDatabase('plugmig');
  oldPool = createPool(old.conf);
  freshPool = createPool((await testDatabase('plugnew')).conf);
});
afterAll(async () => {
  await admin?.close();
  await oldPool.end();
  await freshPool.end();
});

test('a 0.1.0 database has the plugins migrations (and core migrations added since) pending, and start refuses until up', async () => {
  await bootstrapRelease010(oldPool);
  const plugins = pluginMigrations().map((m) => m.name);
  expect(plugins).toEqual(['key-auth:000_base', 'basic-auth:000_base', 'acl:000_base', 'jwt:000_base', 'hmac-auth:000_base']);
  const s = await status(oldPool);
  // Core's migrations added after 0.1.0 (the TLS entities) run first, then the plugins'.
  expect(s.pending).toEqual([...LATER_CORE, ...plugins]);
  // The old ledger stays as it was, in run order: 004 is history, not an unknown error.
  expect(s.executed).toEqual(['001_core_entities', '002_cluster', '003_cluster_events_txid', '004_basicauth_acls']);
  await expect(assertBootstrapped(oldPool)).rejects.toThrow("run 'gossamer migrations up'");
});

test('`gossamer migrations up` records the plugins migrations without redoing core work', async () => {
  const r = await runCli(['up'], old.conf);
  expect(r.code).toBe(0);
  // key-auth's, basic-auth's and acl's tables exist already (no-ops); jwt's and hmac-auth's are new.
  expect(r.out.split('\n')).toEqual([...LATER_CORE, ...pluginMigrations().map((m) => m.name)].map((n) => `executed ${n}`));
  await assertBootstrapped(oldPool);
  expect(await up(oldPool)).toEqual([]);
  expect((await runCli(['status'], old.conf)).out).toMatch(/database is up to date/);
  const s = await status(oldPool);
  expect(s.executed).toEqual(['001_core_entities', '002_cluster', '003_cluster_events_txid', '004_basicauth_acls', ...LATER_CORE, ...pluginMigrations().map((m) => m.name)]);
  // The rows written before the upgrade are untouched.
  const snap = await loadSnapshot(oldPool);
  expect(snap.keyauth_credentials.map((k) => k.key)).toEqual(['old-key']);
  expect(snap.basicauth_credentials?.map((b) => b.username)).toEqual(['alice-basic']);
  expect(snap.acls?.map((a) => a.group)).toEqual(['admins']);
});

test('the upgraded schema is the schema a new database gets', async () => {
  const fresh = await bootstrap(freshPool);
  expect(fresh.executed).toEqual(migrations.map((m) => m.name));
  expect(fresh.executed).not.toContain('004_basicauth_acls');
  const upgraded = (await schemaOf(oldPool)) as { constraints: { conname: string }[]; indexes: { indexname: string }[] };
  expect(upgraded.constraints.map((c) => c.conname)).toEqual(expect.arrayContaining(['keyauth_credentials_key_unique', 'basicauth_credentials_username_unique', 'acls_consumer_group_unique', 'jwt_secrets_key_unique', 'hmacauth_credentials_username_unique']));
  expect(upgraded.indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(['keyauth_credentials_consumer_id_idx', 'basicauth_credentials_consumer_id_idx', 'acls_group_idx']));
  expect(upgraded).toEqual(await schemaOf(freshPool));
});

test('key-auth, basic-auth and acl work on the upgraded database (Admin API and cache)', async () => {
  admin = createAdminServer({
    pool: oldPool,
    nodeInfo: { id: '0b9c4a1e-6f2d-4c3b-8a7e-5d4c3b2a1f01', name: 'upgrade', hostname: 'upgrade', version: '0.1.0', role: 'traditional' },
    configSummary: {},
  });
  const a = await admin.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${a.port}`;

  expect((await call('GET', '/key-auths/old-key')).body).toMatchObject({ id: KEY, key: 'old-key', consumer: { id: ALICE } });
  expect((await call('POST', '/consumers/alice/key-auth', { key: 'new-key' })).status).toBe(201);
  expect((await call('POST', '/consumers/alice/key-auth', { key: 'old-key' })).status).toBe(409);

  const hashed = createHash('sha1').update('new-pass').update(ALICE).digest('hex');
  const basic = await call('POST', '/consumers/alice/basic-auth', { username: 'alice-2', password: 'new-pass' });
  expect(basic).toMatchObject({ status: 201, body: { username: 'alice-2', password: hashed } });
  expect((await call('GET', '/basic-auths/alice-basic/consumer')).body).toMatchObject({ id: ALICE, username: 'alice' });

  expect((await call('GET', '/consumers/alice/acls/admins')).body).toMatchObject({ id: ACL, group: 'admins' });
  expect((await call('POST', '/consumers/alice/acls', { group: 'admins' })).status).toBe(409);
  expect((await call('POST', '/consumers/alice/acls', { group: 'ops' })).status).toBe(201);

  // The cache the proxy reads: each plugin's index finds what the database holds.
  const store = new EntityStore();
  store.load(await loadSnapshot(oldPool));
  expect([...store.index<{ key: string }>('keyauth_credentials.key').keys()].sort()).toEqual(['new-key', 'old-key']);
  expect(store.index<{ password: string }>('basicauth_credentials.username').get('alice-2')?.password).toBe(hashed);
  expect([...(store.index<Map<string, { group: string }>>('acls.consumer').get(ALICE)?.values() ?? [])].map((g) => g.group).sort()).toEqual(['admins', 'ops']);

  // Deleting the consumer takes its credentials with it, as before.
  expect((await call('DELETE', '/consumers/alice')).status).toBe(204);
  for (const t of ['keyauth_credentials', 'basicauth_credentials', 'acls']) {
    expect((await oldPool.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n, t).toBe(0);
  }
});
