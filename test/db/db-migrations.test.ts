import { afterAll, beforeAll, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { createPool, describePgError, isBusyError, type Pool } from '../../src/db/pool.ts';
import { assertBootstrapped, bootstrap, clusterSecret, migrations, reset, status, up } from '../../src/db/migrate.ts';
import { freePort } from '../../src/db/embedded.ts';
import { Command } from 'commander';
import { migrationsCommand } from '../../src/cli/migrations.ts';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await testDatabase('mig');
  pool = createPool(db.conf);
});
afterAll(async () => {
  await pool.end();
});

const tables = async () =>
  (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows.map((r) => r.tablename);

test('a fresh database is not bootstrapped and start-up checks say to run bootstrap', async () => {
  expect(await status(pool)).toEqual({ bootstrapped: false, executed: [], pending: migrations.map((m) => m.name) });
  await expect(assertBootstrapped(pool)).rejects.toThrow("run 'gossamer migrations bootstrap'");
  await expect(up(pool)).rejects.toThrow("run 'gossamer migrations bootstrap'");
});

test('bootstrap creates every table, the sequence and a cluster secret; twice changes nothing', async () => {
  const first = await bootstrap(pool);
  expect(first.alreadyBootstrapped).toBe(false);
  expect(first.executed).toEqual(migrations.map((m) => m.name));
  expect(await tables()).toEqual(
    [
      'acls',
      'basicauth_credentials',
      'ca_certificates',
      'certificates',
      'cluster_events',
      'cluster_nodes',
      'cluster_settings',
      'consumers',
      'hmacauth_credentials',
      'jwt_secrets',
      'keyauth_credentials',
      'plugins',
      'routes',
      'schema_migrations',
      'services',
      'snis',
      'targets',
      'upstreams',
    ].sort(),
  );
  const secret = await clusterSecret(pool);
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  const seq = await pool.query(`SELECT nextval('config_version_seq') AS v`);
  expect(Number(seq.rows[0].v)).toBe(1);

  const second = await bootstrap(pool);
  expect(second).toEqual({ alreadyBootstrapped: true, executed: [], message: 'database already bootstrapped' });
  expect(await clusterSecret(pool)).toBe(secret);
  expect(await status(pool)).toEqual({ bootstrapped: true, executed: migrations.map((m) => m.name), pending: [] });
  await assertBootstrapped(pool);
  expect(await up(pool)).toEqual([]);
});

test('a pending migration shows in status and start refuses until up', async () => {
  const later = migrations.slice(1).map((m) => m.name);
  await pool.query(`DELETE FROM schema_migrations WHERE name <> '001_core_entities'`);
  await pool.query(`DROP TABLE cluster_events, cluster_nodes, cluster_settings, acls, basicauth_credentials; DROP SEQUENCE config_version_seq`);
  expect((await status(pool)).pending).toEqual(later);
  await expect(assertBootstrapped(pool)).rejects.toThrow("run 'gossamer migrations up'");
  expect(await up(pool)).toEqual(later);
  await assertBootstrapped(pool);
});

test('reset drops everything', async () => {
  await reset(pool);
  expect(await tables()).toEqual([]);
  expect((await status(pool)).bootstrapped).toBe(false);
});

test('an unreachable Postgres gives one line naming host:port and the cause', async () => {
  const port = await freePort();
  const bad = createPool({ ...db.conf, pg_port: port });
  const err = await bad.query('SELECT 1').catch((e) => e);
  await bad.end();
  const line = describePgError(err, { host: '127.0.0.1', port });
  expect(line).toBe(`cannot connect to Postgres at 127.0.0.1:${port}: connection refused`);
  expect(isBusyError(err)).toBe(false);

  const wrongPw = createPool({ ...db.conf, pg_password: 'nope' });
  const err2 = await wrongPw.query('SELECT 1').catch((e) => e);
  await wrongPw.end();
  expect(describePgError(err2, { host: db.host, port: db.port })).toMatch(/^cannot connect to Postgres at .*: authentication failed/);
  expect(isBusyError(err2)).toBe(false);

  const noDb = createPool({ ...db.conf, pg_database: 'does_not_exist_x' });
  const err3 = await noDb.query('SELECT 1').catch((e) => e);
  await noDb.end();
  expect(describePgError(err3, { host: db.host, port: db.port })).toMatch(/database does not exist/);
});

test('a Postgres that accepts but never answers is reported as a timeout', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  try {
    const hung = createPool({ ...db.conf, pg_port: port, pg_timeout: 300 });
    const err = await hung.query('SELECT 1').catch((e) => e);
    await hung.end();
    expect(describePgError(err, { host: '127.0.0.1', port })).toBe(`cannot connect to Postgres at 127.0.0.1:${port}: connection timed out`);
    expect(isBusyError(err)).toBe(true);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

async function runCli(args: string[], conf: Record<string, unknown>) {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  process.exitCode = undefined;
  try {
    const program = new Command('gossamer').exitOverride();
    program.addCommand(migrationsCommand(() => conf as never));
    await program.parseAsync(['node', 'gossamer', 'migrations', ...args]);
  } finally {
    console.log = log;
    console.error = error;
  }
  const code = process.exitCode ?? 0;
  process.exitCode = undefined;
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('the migrations command: bootstrap, status, bootstrap again, reset needs --yes', async () => {
  let r = await runCli(['bootstrap'], db.conf);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/database bootstrapped/);
  r = await runCli(['bootstrap'], db.conf);
  expect(r).toMatchObject({ code: 0, out: 'database already bootstrapped' });
  r = await runCli(['status'], db.conf);
  expect(r.out).toMatch(/database is up to date/);
  r = await runCli(['reset'], db.conf);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/--yes/);
  expect((await status(pool)).bootstrapped).toBe(true);
  r = await runCli(['reset', '--yes'], db.conf);
  expect(r.code).toBe(0);
  expect((await status(pool)).bootstrapped).toBe(false);
  r = await runCli(['status'], db.conf);
  expect(r.out).toMatch(/gossamer migrations bootstrap/);
});

test('the migrations command against a closed port exits 1 with one line, no stack', async () => {
  const port = await freePort();
  const r = await runCli(['status'], { ...db.conf, pg_port: port });
  expect(r.code).toBe(1);
  expect(r.err).toBe(`Error: cannot connect to Postgres at ${db.host}:${port}: connection refused`);
});

function gossamer(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/gossamer.js', ...args], { cwd: path.resolve(import.meta.dirname, '../..'), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('the real `gossamer migrations` process: bootstrap, again, and an unreachable database', { timeout: 180_000 }, async () => {
  const fresh = await testDatabase('cli');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-mig-'));
  try {
    const conf = path.join(dir, 'gossamer.conf');
    fs.writeFileSync(
      conf,
      `pg_host = ${fresh.host}\npg_port = ${fresh.port}\npg_user = ${fresh.user}\npg_password = ${fresh.password}\npg_database = ${fresh.database}\n`,
    );
    const first = await gossamer(['migrations', 'bootstrap', '-c', conf]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/database bootstrapped/);
    const again = await gossamer(['migrations', 'bootstrap', '-c', conf]);
    expect(again).toMatchObject({ code: 0, stdout: 'database already bootstrapped\n' });

    const closed = await freePort();
    const bad = path.join(dir, 'bad.conf');
    fs.writeFileSync(bad, `pg_host = 127.0.0.1\npg_port = ${closed}\n`);
    const down = await gossamer(['migrations', 'status', '-c', bad]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(`Error: cannot connect to Postgres at 127.0.0.1:${closed}: connection refused`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
