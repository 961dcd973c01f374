// db_cache_ttl (Kong's meaning): with ttl > 0 every cached entity is read again from Postgres
// once it is older than the ttl, so even a change that left no cluster_events row (a manual
// UPDATE by an operator) shows up; with 0 the cache only changes through events.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { insertEntity } from '../../src/db/write.ts';
import { createEventSync, type EventSync } from '../../src/sync/gossip/event-sync.ts';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
const syncs: EventSync[] = [];

beforeAll(async () => {
  const db = await testDatabase('cachettl');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  for (const s of syncs) await s.stop();
  await pool.end();
});

test('entries older than db_cache_ttl are re-read from Postgres; ttl 0 never expires them', async () => {
  const svc = await insertEntity(pool, 'services', { name: 'ttl', host: 'before.example.com' });
  const id = svc.entity!.id as string;
  const expiring = createEventSync({ pool, log, gossip: false, dbUpdateFrequency: 3600, dbCacheTtl: 0.3 });
  const forever = createEventSync({ pool, log, gossip: false, dbUpdateFrequency: 3600, dbCacheTtl: 0 });
  syncs.push(expiring, forever);
  await expiring.start();
  await forever.start();
  await pool.query(`UPDATE services SET host = 'after.example.com' WHERE id = $1`, [id]);

  const end = Date.now() + 10_000;
  while (expiring.store.get('services', id)?.host !== 'after.example.com') {
    if (Date.now() > end) throw new Error('the expiring cache never re-read the service');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 700));
  expect(forever.store.get('services', id)?.host).toBe('before.example.com');
  expect(forever.repairer.stats.reloads).toBe(1);
});
