// Gossip of change events over real libp2p (TCP on 127.0.0.1, noise, pnet, gossipsub) between
// three nodes sharing one real Postgres: a write applied on A reaches B and C by gossip alone
// (their poll is an hour away), deletes too, and a node that missed an event repairs the gap.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pino from 'pino';
import type pg from 'pg';
import { testDatabase } from '../support/pg.ts';
import { createPool } from '../../src/db/pool.ts';
import { bootstrap } from '../../src/db/migrate.ts';
import { deleteEntity, insertEntity } from '../../src/db/write.ts';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { startTestHost } from '../support/libp2p-host.ts';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import { createEventSync, type EventsCluster, type EventSync } from '../../src/sync/gossip/event-sync.ts';

const log = pino({ level: 'silent' });
let pool: pg.Pool;
const hosts: ClusterLibp2p[] = [];
const nodes: EventSync[] = [];

/** The slice of the cluster EventSync uses, straight on a libp2p host's gossipsub. */
function busOf(libp2p: ClusterLibp2p): EventsCluster {
  const pubsub = libp2p.services.pubsub;
  return {
    publish: (topic, data) => pubsub.publish(topic, data),
    subscribe: (topic, handler) => {
      pubsub.subscribe(topic);
      pubsub.addEventListener('message', (e) => {
        if (e.detail.topic === topic) handler(e.detail.data);
      });
    },
    setLocalState: () => {},
    members: () => [],
  };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  const db = await testDatabase('evgossip');
  pool = createPool(db.conf);
  await bootstrap(pool);
  const psk = pskFromSecret(randomBytes(32).toString('hex'));
  for (let i = 0; i < 3; i++) hosts.push(await startTestHost(psk));
  for (const h of hosts.slice(1)) await h.dial(hosts[0]!.getMultiaddrs()[0]!);
  await hosts[1]!.dial(hosts[2]!.getMultiaddrs()[0]!);
  for (const h of hosts) {
    const s = createEventSync({ pool, log, gossip: true, dbUpdateFrequency: 3600 });
    await s.start();
    s.attachCluster(busOf(h));
    nodes.push(s);
  }
  // Every host must see the others subscribed before a publish can reach them.
  await until('topic subscriptions to spread', () => hosts.every((h) => h.services.pubsub.getSubscribers('gossamer/events/1').length >= 1), 30_000);
  await until('a full topic mesh', () => hosts.every((h) => h.services.pubsub.getSubscribers('gossamer/events/1').length === 2), 30_000);
});

afterAll(async () => {
  for (const n of nodes) await n.stop();
  for (const h of hosts) await h.stop();
  await pool.end();
});

test('a write applied on A is served by B and C from gossip; a delete on A removes it from B', async () => {
  const [a, b, c] = nodes as [EventSync, EventSync, EventSync];
  const res = await insertEntity(pool, 'services', { name: 'gossiped', host: 'g.example.com' });
  a.localChanges(res.events);
  expect(a.store.get('services', res.entity!.id as string)?.name).toBe('gossiped'); // read-your-write, synchronously
  const id = res.entity!.id as string;
  await until('B and C to hold the new service', () => !!b.store.get('services', id) && !!c.store.get('services', id));
  expect(b.repairer.stats.reads).toBe(1); // only the start-up read: it came by gossip

  const del = await deleteEntity(pool, 'services', { id });
  a.localChanges(del.events);
  await until('B and C to drop the deleted service', () => !b.store.get('services', id) && !c.store.get('services', id));
  expect(new Set(nodes.map((n) => n.configHash())).size).toBe(1);
  expect(new Set(nodes.map((n) => n.configVersion())).size).toBe(1);
});

test('an event that never reached a node is repaired from Postgres when the next one shows the gap', async () => {
  const [a, b, c] = nodes as [EventSync, EventSync, EventSync];
  // Committed but never gossiped (the writer died between commit and publish).
  const lost = await insertEntity(pool, 'consumers', { username: 'lost-in-transit' });
  const next = await insertEntity(pool, 'consumers', { username: 'next' });
  a.localChanges(next.events);
  const lostId = lost.entity!.id as string;
  await until('B and C to repair the missed event', () => !!b.store.get('consumers', lostId) && !!c.store.get('consumers', lostId));
  expect(b.stats.gapRepairs).toBeGreaterThanOrEqual(1);
  // The writer itself sees the gap below its own event and repairs too.
  await until('A to repair the missed event', () => !!a.store.get('consumers', lostId));
  expect(new Set(nodes.map((n) => n.configHash())).size).toBe(1);
});

test("with cluster_gossip_events = off a node neither publishes nor listens: only its poll brings changes (Kong's mode)", async () => {
  const [a] = nodes as [EventSync];
  const quiet = createEventSync({ pool, log, gossip: false, dbUpdateFrequency: 3600 });
  await quiet.start();
  quiet.attachCluster(busOf(hosts[2]!));
  try {
    const res = await insertEntity(pool, 'consumers', { username: 'kong-mode' });
    quiet.localChanges(res.events);
    expect(quiet.stats.published).toBe(0);
    const other = await insertEntity(pool, 'consumers', { username: 'from-a' });
    a.localChanges(other.events);
    const id = other.entity!.id as string;
    await until('the gossiping nodes to apply it', () => nodes.every((n) => !!n.store.get('consumers', id)));
    expect(quiet.store.get('consumers', id)).toBeUndefined();
    expect(quiet.stats.received).toBe(0);
    await quiet.repair('poll');
    expect(quiet.store.get('consumers', id)?.username).toBe('from-a');
  } finally {
    await quiet.stop();
  }
});

test('a failed member polls Postgres twice a second only while its cluster_nodes row is fresh (partitioned, may write); not once it aged out (dead), nor for a suspect', async () => {
  let registered: boolean | undefined = false;
  let status = 'suspect';
  const s = createEventSync({ pool, log, gossip: true, dbUpdateFrequency: 3600 });
  await s.start();
  s.attachCluster({ ...busOf(hosts[0]!), members: () => [{ id: 'up', name: 'u', status: 'alive' }, { id: 'dead-or-cut', name: 'x', status }], registered: () => registered });
  try {
    registered = true;
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.status().degraded).toBe(false);
    status = 'failed';
    registered = false;
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.status().degraded).toBe(false);
    const readsDead = s.status().reads;
    await new Promise((r) => setTimeout(r, 1200));
    expect(s.status().reads).toBe(readsDead);
    registered = true;
    await until('degraded with a registered failed member', () => s.status().degraded, 5000);
    const before = s.status().reads;
    await until('the degraded poll to read Postgres', () => s.status().reads >= before + 2, 5000);
    registered = undefined; // no database view at all: stay on the safe side
    await new Promise((r) => setTimeout(r, 1200));
    expect(s.status().degraded).toBe(true);
  } finally {
    await s.stop();
  }
});
