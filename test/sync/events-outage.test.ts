// Postgres goes away and comes back: the node keeps its cache, reports the database
// unreachable once, and catches up with no restart. Uses its own embedded Postgres (the
// suite's shared one must stay up).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { insertEntity } from '../../src/db/write.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { createEventSync, type EventSync } from '../../src/sync/gossip/event-sync.ts';

let dir: string;
let port: number;
let server: EmbeddedPg | undefined;
let pool: pg.Pool;
let sync: EventSync | undefined;
const lines: { level: number; msg: string }[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  }),
);

const start = () => startEmbeddedPostgres({ dir: path.join(dir, 'data'), port, persistent: true });

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-outage-pg-'));
  fs.chmodSync(dir, 0o777);
  port = await freePort();
  server = await start();
  pool = createPool({ pg_host: '127.0.0.1', pg_port: port, pg_user: server.user, pg_password: server.password, pg_database: 'postgres', pg_timeout: 1000 });
  await bootstrap(pool);
});

afterAll(async () => {
  await sync?.stop();
  await pool?.end();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('with Postgres down the cache keeps serving; when it returns the node catches up without a restart', async () => {
  const svc = await insertEntity(pool, 'services', { name: 'kept', host: 'kept.example.com' });
  sync = createEventSync({ pool, log, gossip: false, dbUpdateFrequency: 0.2 });
  await sync.start();
  expect(sync.dbReachable()).toBe(true);
  expect(sync.store.get('services', svc.entity!.id as string)?.name).toBe('kept');

  await server!.stop();
  server = undefined;
  await until('the node to notice the database is gone', () => !sync!.dbReachable());
  // Several more failed polls go by quietly.
  await new Promise((r) => setTimeout(r, 1000));
  expect(sync.store.get('services', svc.entity!.id as string)?.name).toBe('kept');
  expect(sync.status().database_reachable).toBe(false);

  server = await start();
  await until('the node to notice the database is back', () => sync!.dbReachable());
  const added = await insertEntity(pool, 'services', { name: 'after-outage', host: 'new.example.com' });
  await until('the poll to bring the new service', () => sync!.store.get('services', added.entity!.id as string) !== undefined);
  expect(sync.configHash()).toBe(configHash(await loadSnapshot(pool)));

  const outage = lines.filter((l) => /unreachable/.test(l.msg));
  const back = lines.filter((l) => /reachable again/.test(l.msg));
  expect(outage.length).toBe(1);
  expect(back.length).toBe(1);
  expect(outage[0]!.msg).toContain(`127.0.0.1:${port}`);
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);
});
