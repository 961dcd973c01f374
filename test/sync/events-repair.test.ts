// Repair from cluster_events against a real Postgres: out-of-order commits on two
// connections, rolled-back holes, a consumer that missed events, ttl-free steady state.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { deleteEntity, insertEntity, updateEntity } from '../../src/db/write.ts';
import { writeEvent } from '../../src/db/events.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { rowToEntity } from '../../src/db/rows.ts';
import { entities } from '../../src/entities/index.ts';
import type { ChangeEvent } from '../../src/entities/types.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { createEventSync, type EventSync } from '../../src/sync/gossip/event-sync.ts';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
const syncs: EventSync[] = [];

beforeAll(async () => {
  const db = await testDatabase('evrep');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  for (const s of syncs) await s.stop();
  await pool.end();
});

/** A node's event machinery without a cluster; the poll is long so the test drives repair. */
async function consumer(): Promise<EventSync> {
  const s = createEventSync({ pool, log, gossip: false, dbUpdateFrequency: 3600 });
  syncs.push(s);
  await s.start();
  return s;
}

/** Start a write transaction that takes its config_version and stays open until commit/rollback. */
async function openServiceWrite(name: string) {
  const client = await pool.connect();
  await client.query('BEGIN');
  const now = Math.floor(Date.now() / 1000);
  const { rows } = await client.query(
    `INSERT INTO services (id, created_at, updated_at, name, retries, protocol, host, port, connect_timeout, write_timeout, read_timeout, enabled)
     VALUES ($1, to_timestamp($2), to_timestamp($2), $3, 5, 'http', 'example.com', 80, 60000, 60000, 60000, true) RETURNING *`,
    [randomUUID(), now, name],
  );
  const saved = rowToEntity(entities.services, rows[0]);
  const event = await writeEvent(client, { entity: 'services', op: 'create', entity_id: saved.id as string, cache_keys: [`services:${saved.id}`], data: saved, node_id: null });
  return {
    event,
    commit: async () => {
      await client.query('COMMIT');
      client.release();
    },
    rollback: async () => {
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

async function freshHash(): Promise<string> {
  return configHash(await loadSnapshot(pool));
}

/**
 * Repair until no version is pending. A hole is declared dead once every transaction that was
 * running when it was first seen has ended, cluster-wide (other test files share the server).
 */
async function settle(c: EventSync): Promise<void> {
  const end = Date.now() + 15_000;
  await c.repair();
  while (c.cache.versions.pendingVersions().length) {
    if (Date.now() > end) throw new Error(`versions ${c.cache.versions.pendingVersions().join(', ')} stayed pending`);
    await new Promise((r) => setTimeout(r, 50));
    await c.repair();
  }
}

const serviceNames = (s: EventSync) => [...s.store.all('services')].map((x) => x.name).sort();

test('a version that commits after a higher one is not skipped, and a rolled-back hole is given up', async () => {
  const c = await consumer();
  const a = await openServiceWrite('slow-a'); // takes version N, commits last
  const b = await insertEntity(pool, 'services', { name: 'fast-b', host: 'b.example.com' });
  expect(b.events[0]!.config_version).toBeGreaterThan(a.event.config_version);

  await c.repair();
  expect(serviceNames(c)).toEqual(['fast-b']);
  expect(c.cache.versions.low).toBe(a.event.config_version - 1);
  expect(c.cache.versions.pendingVersions()).toEqual([a.event.config_version]);

  await a.commit();
  await c.repair();
  expect(serviceNames(c)).toEqual(['fast-b', 'slow-a']);
  expect(c.cache.versions.low).toBe(b.events[0]!.config_version);

  const r = await openServiceWrite('rolled-back');
  const d = await insertEntity(pool, 'services', { name: 'after-hole', host: 'd.example.com' });
  await r.rollback();
  await settle(c); // a later read's xmin passes the rolled-back transaction
  expect(c.cache.versions.pendingVersions()).toEqual([]);
  expect(c.cache.versions.low).toBe(d.events[0]!.config_version);
  expect(serviceNames(c)).toEqual(['after-hole', 'fast-b', 'slow-a']);
  expect(c.configHash()).toBe(await freshHash());
});

test('concurrent writers with out-of-order commits: every consumer ends identical to Postgres', async () => {
  const consumers = [await consumer(), await consumer(), await consumer()];
  // A gossip-fed consumer that receives every committed event, but shuffled and in bursts.
  const gossiped = await consumer();
  const delivered: ChangeEvent[] = [];
  const ids: string[] = [];
  const writer = async (w: number) => {
    for (let i = 0; i < 25; i++) {
      if (i % 5 === 2) {
        // Hold a transaction open while the other writer commits past it.
        const t = await openServiceWrite(`held-${w}-${i}`);
        await new Promise((r) => setTimeout(r, 15));
        if (i % 10 === 2) await t.commit();
        else await t.rollback();
        if (i % 10 === 2) delivered.push(t.event);
        continue;
      }
      const pick = ids.length && i % 3 === 0 ? ids[(w * 7 + i) % ids.length] : undefined;
      if (pick && i % 2 === 0) {
        const res = await deleteEntity(pool, 'services', { id: pick });
        ids.splice(ids.indexOf(pick), 1);
        delivered.push(...res.events);
      } else if (pick) {
        const res = await updateEntity(pool, 'services', { id: pick }, { retries: i, tags: [`w${w}`] });
        delivered.push(...res.events);
      } else {
        const res = await insertEntity(pool, 'services', { name: `svc-${w}-${i}`, host: `h${i}.example.com` });
        ids.push(res.entity!.id as string);
        delivered.push(...res.events);
      }
      // Consumers repair at arbitrary moments while writes are in flight.
      if (i % 4 === w) await consumers[i % consumers.length]!.repair();
    }
  };
  await Promise.all([writer(0), writer(1)]);
  // Reverse order and duplicates: last-writer-wins by version must still end in Postgres' state.
  gossiped.localChanges([...delivered].reverse());
  gossiped.localChanges(delivered.slice(0, 10));

  const expected = await freshHash();
  for (const c of consumers) {
    await settle(c);
    expect(c.configHash()).toBe(expected);
    expect(c.cache.versions.pendingVersions()).toEqual([]);
  }
  expect(gossiped.configHash()).toBe(expected);
  const latest = Math.max(...delivered.map((e) => e.config_version));
  for (const c of [...consumers, gossiped]) expect(c.configVersion()).toBeGreaterThanOrEqual(latest);
});

test('a consumer that missed events catches up on its next read, and a reload gives the same hash', async () => {
  const c = await consumer();
  const before = c.configVersion();
  for (let i = 0; i < 10; i++) await insertEntity(pool, 'consumers', { username: `missed-${i}` });
  const svc = [...c.store.all('services')][0]!;
  await updateEntity(pool, 'services', { id: svc.id }, { path: '/changed' });
  expect(c.configVersion()).toBe(before); // nothing arrived: no gossip, no poll yet
  await c.repair();
  expect(c.configVersion()).toBeGreaterThan(before);
  expect([...c.store.all('consumers')].length).toBe(10);
  expect(c.store.get('services', svc.id)!.path).toBe('/changed');
  const hash = c.configHash();
  expect(hash).toBe(await freshHash());
  await c.reload();
  expect(c.configHash()).toBe(hash);
});

test('the proxy hooks receive snapshots and only the events that changed the cache', async () => {
  const got: { events: ChangeEvent[]; source: string }[] = [];
  let snapshots = 0;
  const s = createEventSync({
    pool,
    log,
    gossip: false,
    dbUpdateFrequency: 3600,
    onEvents: (events, source) => got.push({ events, source }),
    onSnapshot: () => snapshots++,
  });
  syncs.push(s);
  await s.start();
  expect(snapshots).toBe(1);
  const res = await insertEntity(pool, 'consumers', { username: 'hooked' });
  s.localChanges(res.events);
  expect(got).toEqual([{ events: res.events, source: 'local' }]);
  expect(s.store.get('consumers', res.entity!.id as string)?.username).toBe('hooked');
  s.localChanges(res.events); // a duplicate changes nothing and is not handed on
  await s.repair(); // nor is the same event read back from Postgres
  expect(got.length).toBe(1);
});
