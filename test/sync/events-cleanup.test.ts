// Expired cluster_events rows are deleted by one node at a time (an advisory lock).
import { afterAll, beforeAll, expect, test } from 'vitest';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { insertEntity } from '../../src/db/write.ts';
import { cleanupEvents } from '../../src/sync/gossip/db.ts';
import { eventsRetentionSeconds } from '../../src/sync/gossip/event-sync.ts';

let pool: pg.Pool;

beforeAll(async () => {
  const db = await testDatabase('evclean');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  await pool.end();
});

const versions = async () => (await pool.query('SELECT config_version FROM cluster_events ORDER BY 1')).rows.map((r) => Number(r.config_version));

test('events past expire_at or older than the retention go; recent ones stay; one cleaner at a time', async () => {
  const made = [];
  for (let i = 0; i < 4; i++) made.push((await insertEntity(pool, 'consumers', { username: `c${i}` })).events[0]!.config_version);
  await pool.query(`UPDATE cluster_events SET created_at = now() - interval '2 hours' WHERE config_version = $1`, [made[0]]);
  await pool.query(`UPDATE cluster_events SET expire_at = now() - interval '1 second' WHERE config_version = $1`, [made[1]]);
  await pool.query(`UPDATE cluster_events SET expire_at = now() + interval '1 hour' WHERE config_version = $1`, [made[2]]);

  // Another node is cleaning right now: this one steps aside.
  const other = await pool.connect();
  try {
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1)', [0x6f55a3e5]);
    expect(await cleanupEvents(pool, 3600)).toBeNull();
    await other.query('COMMIT');
  } finally {
    other.release();
  }
  expect(await versions()).toEqual(made);

  expect(await cleanupEvents(pool, 3600)).toBe(2);
  expect(await versions()).toEqual([made[2], made[3]]);
});

test("retention follows Kong: max(db_update_propagation × 10, 1 hour)", async () => {
  expect(eventsRetentionSeconds()).toBe(3600);
  expect(eventsRetentionSeconds(30)).toBe(3600);
  expect(eventsRetentionSeconds(600)).toBe(6000);
  // With db_update_propagation = 600 an event 90 minutes old is kept; at the default it goes.
  const v = (await insertEntity(pool, 'consumers', { username: 'kept' })).events[0]!.config_version;
  await pool.query(`UPDATE cluster_events SET created_at = now() - interval '90 minutes' WHERE config_version = $1`, [v]);
  await cleanupEvents(pool, eventsRetentionSeconds(600));
  expect(await versions()).toContain(v);
  await cleanupEvents(pool, eventsRetentionSeconds(0));
  expect(await versions()).not.toContain(v);
});
