import { afterAll, beforeAll, expect, test } from 'vitest';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { deleteEntity, insertEntity, updateEntity, upsertEntity } from '../../src/db/write.ts';
import { eventsSince, latestConfigVersion } from '../../src/db/events.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { KongError } from '../../src/entities/errors.ts';

let pool: pg.Pool;
const NODE = '0b6f6c1e-6a3c-4f39-9b64-2d8f1c3a5e77';

beforeAll(async () => {
  const db = await testDatabase('write');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  await pool.end();
});

const count = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

test('an insert commits the entity and exactly one event carrying it', async () => {
  const r = await insertEntity(pool, 'services', { name: 's1', host: 'a.test' }, { nodeId: NODE });
  expect(r.events).toHaveLength(1);
  const ev = r.events[0]!;
  expect(ev).toMatchObject({ channel: 'invalidations', entity: 'services', op: 'create', entity_id: r.entity!.id, node_id: NODE, data: r.entity });
  expect(ev.cache_keys).toEqual([`services:${r.entity!.id}`]);
  const rows = (await pool.query('SELECT * FROM cluster_events')).rows;
  expect(rows).toHaveLength(1);
  expect(Number(rows[0].config_version)).toBe(ev.config_version);
  expect(await latestConfigVersion(pool)).toBe(ev.config_version);
});

test('a failure after the entity row is written rolls back both (real constraint, no mock)', async () => {
  // Rewind the sequence so the event insert — which runs after the entity insert in the same
  // transaction — collides with an existing config_version (a unique constraint).
  const services = await count('services');
  const events = await count('cluster_events');
  const { rows } = await pool.query('SELECT max(config_version) AS v FROM cluster_events');
  await pool.query(`SELECT setval('config_version_seq', $1::bigint, false)`, [Number(rows[0].v)]);
  await expect(insertEntity(pool, 'services', { name: 'ghost', host: 'g.test' })).rejects.toMatchObject({ code: '23505', constraint: 'cluster_events_config_version_unique' });
  expect(await count('services')).toBe(services);
  expect(await count('cluster_events')).toBe(events);
  expect((await pool.query(`SELECT 1 FROM services WHERE name = 'ghost'`)).rowCount).toBe(0);
  // The same for update and delete.
  const s1 = (await pool.query(`SELECT id FROM services WHERE name = 's1'`)).rows[0].id;
  await pool.query(`SELECT setval('config_version_seq', $1::bigint, false)`, [Number(rows[0].v)]);
  await expect(updateEntity(pool, 'services', { id: s1 }, { retries: 1 })).rejects.toMatchObject({ code: '23505' });
  expect((await pool.query('SELECT retries FROM services WHERE id = $1', [s1])).rows[0].retries).toBe(5);
  await pool.query(`SELECT setval('config_version_seq', $1::bigint, false)`, [Number(rows[0].v)]);
  await expect(deleteEntity(pool, 'services', { id: s1 })).rejects.toMatchObject({ code: '23505' });
  expect(await count('services')).toBe(services);
  expect(await count('cluster_events')).toBe(events);
  await pool.query(`SELECT setval('config_version_seq', $1::bigint)`, [Number(rows[0].v)]);
});

test('a unique violation on the entity leaves no event behind and maps to Kong’s 409', async () => {
  const events = await count('cluster_events');
  const err = await insertEntity(pool, 'services', { name: 's1', host: 'b.test' }).catch((e) => e);
  expect(err).toBeInstanceOf(KongError);
  expect(err.status).toBe(409);
  expect(await count('cluster_events')).toBe(events);
});

test('a cascade writes one event per deleted row, all in one transaction', async () => {
  const c = (await insertEntity(pool, 'consumers', { username: 'bob' })).entity!;
  await insertEntity(pool, 'keyauth_credentials', { consumer: { id: c.id }, key: 'k1' });
  await insertEntity(pool, 'keyauth_credentials', { consumer: { id: c.id }, key: 'k2' });
  const before = await latestConfigVersion(pool);
  const r = await deleteEntity(pool, 'consumers', { field: 'username', value: 'bob' }, { nodeId: NODE });
  expect(r.events.map((e) => e.entity)).toEqual(['keyauth_credentials', 'keyauth_credentials', 'consumers']);
  expect(r.events.map((e) => e.config_version)).toEqual([before + 1, before + 2, before + 3]);
  expect(r.events.flatMap((e) => e.cache_keys)).toEqual(expect.arrayContaining(['keyauth_credentials:k1', 'keyauth_credentials:k2', `consumers:${c.id}`]));
  const since = await eventsSince(pool, before, 10);
  expect(since.map((e) => e.id)).toEqual(r.events.map((e) => e.id));
  expect(await count('keyauth_credentials')).toBe(0);
});

test('upsert reports create then update; update events carry old and new cache keys', async () => {
  const a = await upsertEntity(pool, 'consumers', { field: 'username', value: 'carol' }, {});
  expect(a.created).toBe(true);
  expect(a.events[0]!.op).toBe('create');
  const cred = (await insertEntity(pool, 'keyauth_credentials', { consumer: { id: a.entity!.id }, key: 'old-key' })).entity!;
  const u = await updateEntity(pool, 'keyauth_credentials', { id: cred.id as string }, { key: 'new-key' });
  expect(u.events[0]!.op).toBe('update');
  expect(u.events[0]!.cache_keys).toEqual(expect.arrayContaining(['keyauth_credentials:old-key', 'keyauth_credentials:new-key']));
  const b = await upsertEntity(pool, 'consumers', { field: 'username', value: 'carol' }, { custom_id: 'x' });
  expect(b.created).toBe(false);
  expect(b.entity).toMatchObject({ id: a.entity!.id, custom_id: 'x' });
});

test('concurrent writes get distinct config_versions', async () => {
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => insertEntity(pool, 'upstreams', { name: `u${i}.test` })));
  const versions = rs.map((r) => r.events[0]!.config_version);
  expect(new Set(versions).size).toBe(20);
});

test('loadSnapshot returns every entity and the latest config_version', async () => {
  const snap = await loadSnapshot(pool);
  expect(snap.config_version).toBe(await latestConfigVersion(pool));
  expect(snap.services.map((s) => s.name)).toEqual(['s1']);
  expect(snap.upstreams).toHaveLength(20);
  expect(snap.consumers.map((c) => c.username)).toEqual(['carol']);
  expect(snap.keyauth_credentials.map((k) => k.key)).toEqual(['new-key']);
  expect(snap.routes).toEqual([]);
});
