// Consistency you can see: a node whose config_hash stays different from a peer's at the same
// config_version reloads from Postgres; the announce carries version + hash; the config key.
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { insertEntity } from '../../src/db/write.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createEventSync, type EventsCluster, type EventsMember, type EventSync } from '../../src/sync/gossip/event-sync.ts';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
let sync: EventSync | undefined;

beforeAll(async () => {
  const db = await testDatabase('evcons');
  pool = createPool(db.conf);
  await bootstrap(pool);
});
afterAll(async () => {
  await sync?.stop();
  await pool.end();
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('cluster_gossip_events defaults to on and accepts off', () => {
  expect(loadConfig({ env: {} }).config.cluster_gossip_events).toBe(true);
  const off = loadConfig({ env: { GOSSAMER_CLUSTER_GOSSIP_EVENTS: 'off' } });
  expect(off.errors).toEqual([]);
  expect(off.config.cluster_gossip_events).toBe(false);
  expect(loadConfig({ env: { GOSSAMER_CLUSTER_GOSSIP_EVENTS: 'maybe' } }).errors.join('\n')).toContain('cluster_gossip_events');
});

test('a node whose hash differs from a peer at the same version announces it, then reloads from Postgres', async () => {
  const svc = await insertEntity(pool, 'services', { name: 'truth', host: 'truth.example.com' });
  const announced: { config_version: number; config_hash: string }[] = [];
  const peer: EventsMember = { name: 'peer-1', status: 'alive', self: false, config_version: 0, config_hash: null };
  // The membership table as this node would see it: one peer that holds the right configuration.
  const cluster: EventsCluster = {
    publish: () => {},
    subscribe: () => {},
    setLocalState: (s) => announced.push(s),
    members: () => [{ name: 'me', self: true, status: 'alive' }, peer],
  };
  sync = createEventSync({ pool, log, gossip: true, dbUpdateFrequency: 3600, hashMismatchGraceMs: 300 });
  await sync.start();
  sync.attachCluster(cluster);
  const fresh = configHash(await loadSnapshot(pool));
  const id = svc.entity!.id as string;
  expect(sync.configHash()).toBe(fresh);
  await until('the first announce', () => announced.length > 0);
  expect(announced.at(-1)).toEqual({ config_version: sync.configVersion(), config_hash: fresh });

  // A change Postgres never committed reaches this node (a forged or replayed message, a bug):
  // its hash leaves the cluster's at the version it now claims.
  const v = sync.configVersion() + 1;
  sync.localChanges([{ ...svc.events[0]!, id: 'phantom', config_version: v, op: 'update', data: { ...svc.entity, host: 'wrong.example.com' } }]);
  expect(sync.store.get('services', id)?.host).toBe('wrong.example.com');
  expect(sync.configHash()).not.toBe(fresh);
  peer.config_version = v;
  peer.config_hash = '0123456789abcdef0123456789abcdef';
  await until('the announce of the diverged hash', () => announced.at(-1)?.config_hash === sync!.configHash());

  await until('the reload from Postgres', () => sync!.stats.mismatchReloads === 1 && sync!.configHash() === fresh);
  expect(sync.store.get('services', id)?.host).toBe('truth.example.com');
  await until('the announce of the repaired hash', () => announced.at(-1)?.config_hash === fresh);
});
