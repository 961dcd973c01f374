// A node's start against a database that is busy (src/node/parts/database.ts): a connect that
// times out, or one refused for too many connections, is tried again; a refused port fails at
// once. Real Postgres, behind a TCP relay whose first connection is accepted and never answered
// (what a saturated host looks like), or with a role's connection limit at 0.
import { beforeAll, expect, test } from 'vitest';
import net from 'node:net';
import { Writable } from 'node:stream';
import { testDatabase, type TestDatabase } from '../support/pg.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { freePort } from '../../src/db/embedded.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { startDatabasePart } from '../../src/node/parts/database.ts';
import type { Stop } from '../../src/node/context.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await testDatabase('start_retry');
  const pool = createPool(db.conf);
  await bootstrap(pool);
  await pool.end();
}, 120_000);

/** Relays to Postgres, except the first `swallow` connections: accepted, never answered. */
async function relay(swallow: number): Promise<{ port: number; close(): Promise<void> }> {
  const held: net.Socket[] = [];
  let seen = 0;
  const server = net.createServer((client) => {
    if (seen++ < swallow) return void held.push(client);
    const upstream = net.connect(db.port, db.host);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    port,
    close: async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function start(port: number, over: Record<string, string> = {}, onWarning: () => Promise<void> = async () => {}) {
  const lines: { msg: string; attempt?: number }[] = [];
  const sink = new Writable({
    write: (chunk, _e, cb) => {
      const line = JSON.parse(String(chunk)) as { msg: string; attempt?: number };
      lines.push(line);
      if (/trying again/.test(line.msg)) void onWarning().then(() => cb(), cb);
      else cb();
    },
  });
  const { config, errors } = loadConfig({ env: {}, file: '/dev/null', overrides: { ...Object.fromEntries(Object.entries(db.conf).map(([k, v]) => [k, String(v)])), pg_host: '127.0.0.1', pg_port: String(port), pg_timeout: '300', pg_pool_size: '2', ...over } });
  expect(errors).toEqual([]);
  const stops: Stop[] = [];
  const result = await startDatabasePart({ config, log: createLogger('t1', 'info', sink), nodeId: 'x', stops }).then(
    (part) => ({ ok: true as const, secret: part.secret }),
    (err: Error) => ({ ok: false as const, message: err.message }),
  );
  for (const s of stops.reverse()) await s();
  return { result, warnings: lines.filter((l) => /trying again/.test(l.msg)) };
}

test('a database whose first connect times out is asked again, and the node starts', { timeout: 60_000 }, async () => {
  const r = await relay(1);
  try {
    const { result, warnings } = await start(r.port);
    expect(result).toMatchObject({ ok: true });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe(`cannot connect to Postgres at 127.0.0.1:${r.port}: connection timed out; trying again`);
  } finally {
    await r.close();
  }
});

test('a database that never answers is given up after the last attempt, with the cause', { timeout: 60_000 }, async () => {
  const r = await relay(100);
  try {
    const { result, warnings } = await start(r.port);
    expect(result).toEqual({ ok: false, message: `cannot connect to Postgres at 127.0.0.1:${r.port}: connection timed out` });
    expect(warnings.map((w) => w.attempt)).toEqual([1, 2, 3]);
  } finally {
    await r.close();
  }
});

test('a refused port is not tried again', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const { result, warnings } = await start(port);
  expect(result).toEqual({ ok: false, message: `cannot connect to Postgres at 127.0.0.1:${port}: connection refused` });
  expect(warnings).toHaveLength(0);
});

test('a database refusing the connection for too many connections (53300) is asked again', { timeout: 60_000 }, async () => {
  // Superusers are exempt from connection limits: a role of its own, allowed none at first.
  const role = `busy_${Date.now().toString(36)}`;
  const admin = createPool(db.conf);
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'busy' CONNECTION LIMIT 0`);
  await admin.query(`GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  try {
    const { result, warnings } = await start(db.port, { pg_host: db.host, pg_user: role, pg_password: 'busy' }, async () => {
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
    });
    expect(warnings.map((w) => w.msg)).toEqual([`cannot connect to Postgres at ${db.host}:${db.port}: too many connections; trying again`]);
    expect(result).toMatchObject({ ok: true });
  } finally {
    await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
    await admin.end();
  }
});
