// Read-your-write while a full reload is in progress (real Postgres). A reload reads a whole
// snapshot, which takes a while at 10,000 routes; a write this node commits meanwhile must be
// handed to the proxy at once (the Admin API answers only after that), and must survive the
// snapshot landing afterwards, which was read before the write committed.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { insertEntity } from '../../src/db/write.ts';
import type { ChangeEvent, ConfigSnapshot } from '../../src/entities/types.ts';
import { createEventSync, type EventSync } from '../../src/sync/gossip/event-sync.ts';
import { loadSnapshotOn, type Queryable } from '../../src/sync/gossip/db.ts';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
let sync: EventSync | null = null;

beforeAll(async () => {
  const db = await testDatabase('evryw');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  await sync?.stop();
  await pool.end();
});

test("this node's write during a reload reaches the proxy at once and survives the snapshot", async () => {
  const svc = await insertEntity(pool, 'services', { name: 'svc', url: 'http://127.0.0.1:9' });
  // The snapshot read can be held open: its transaction has fixed its snapshot already.
  type Gate = { promise: Promise<void>; resolve: () => void };
  let hold: Gate | null = null;
  let reading: Gate | null = null;
  const loadSnapshot = async (q: Queryable): Promise<ConfigSnapshot> => {
    const snap = await loadSnapshotOn(q);
    if (hold) {
      reading!.resolve();
      await hold.promise;
    }
    return snap;
  };
  const handed: ChangeEvent[] = [];
  const snapshots: ConfigSnapshot[] = [];
  sync = createEventSync({
    pool, log, gossip: false, dbUpdateFrequency: 3600, loadSnapshot,
    onEvents: (evs) => handed.push(...evs),
    onSnapshot: (s) => snapshots.push(s),
  });
  await sync.start();
  expect(sync.store.tables.services.has((svc.entity as { id: string }).id)).toBe(true);

  hold = Promise.withResolvers<void>();
  reading = Promise.withResolvers<void>();
  const reload = sync.reload('manual');
  await reading.promise;

  // The Admin API's path: commit, then localChanges, then answer.
  const route = await insertEntity(pool, 'routes', { name: 'during', paths: ['/during'], service: { id: (svc.entity as { id: string }).id } });
  const routeId = (route.entity as { id: string }).id;
  sync.localChanges(route.events);
  expect(handed.map((e) => e.entity_id)).toContain(routeId);
  expect(sync.store.get('routes', routeId)).toBeDefined();

  hold.resolve();
  hold = null;
  await reload;
  // The snapshot was read before the route committed; the route is still there, and the proxy
  // was given a snapshot that holds it.
  expect(sync.store.get('routes', routeId)).toBeDefined();
  expect(snapshots.at(-1)!.routes.map((r) => r.id)).toContain(routeId);
  expect(sync.configVersion()).toBe(route.events[0]!.config_version);
});
