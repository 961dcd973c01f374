// The data plane's level cache keeps changes as a journal beside the last snapshot instead of
// re-encoding the whole configuration per change: a restart serves snapshot + journal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { Packr } from 'msgpackr';
import type pino from 'pino';
import { afterAll, expect, test } from 'vitest';
import { captureLog } from '../support/log-capture.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import type { ChangeEvent, ConfigSnapshot } from '../../src/entities/types.ts';
import { encodeSnapshot, packMessage, unpackMessage } from '../../src/sync/codec.ts';
import { DataPlaneSync } from '../../src/sync/push/data-plane-sync.ts';
import { DpCacheStore } from '../../src/sync/push/level-store.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-cache-journal-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const capture = captureLog;

const SERVICE = '00000000-0000-4000-8000-000000000001';
const routeId = (i: number) => `00000000-0000-4000-8000-${String(i + 100).padStart(12, '0')}`;
const route = (i: number, paths = [`/r${i}`]) => ({ id: routeId(i), name: `r${i}`, paths, service: { id: SERVICE } });

function snapshot(version: number): ConfigSnapshot {
  const service = { id: SERVICE, name: 'svc', protocol: 'http', host: 'example.test', port: 80, path: null, retries: 5, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, created_at: 1, updated_at: 1 };
  return {
    config_version: version,
    services: [service as ConfigSnapshot['services'][number]],
    routes: [route(0), route(1)] as unknown as ConfigSnapshot['routes'],
    consumers: [],
    plugins: [],
    upstreams: [],
    targets: [],
    keyauth_credentials: [],
  };
}

function event(v: number, op: ChangeEvent['op'], i: number, data: unknown): ChangeEvent {
  return { id: `00000000-0000-4000-9000-${String(v).padStart(12, '0')}`, config_version: v, channel: 'invalidations', entity: 'routes', op, entity_id: routeId(i), cache_keys: [`routes:${routeId(i)}`], data, node_id: null, at: Date.now() };
}

const gossip = new Packr({ useRecords: false });
const mkSync = (dir: string, log: pino.Logger) =>
  new DataPlaneSync({ log, store: new DpCacheStore(dir, log), hello: { node_id: 'x', name: 'x', hostname: 'h', version: '0' }, controlPlanes: [], onSnapshot: () => {}, onEvents: () => {} });

/** A data plane's sync that has read the cache in `dir` (and must have found it usable). */
async function loaded(dir: string, log: pino.Logger): Promise<DataPlaneSync> {
  const s = mkSync(dir, log);
  expect(await s.loadFromDisk()).toBe(true);
  return s;
}

/** Close the level store a sync holds (tests reopen the directory afterwards). */
const closeStore = (s: DataPlaneSync): Promise<void> => (s as unknown as { o: { store: DpCacheStore } }).o.store.close();

async function seed(dir: string, s: ConfigSnapshot): Promise<void> {
  const { log } = capture();
  const store = new DpCacheStore(dir, log);
  await store.write(await encodeSnapshot(s), { config_version: s.config_version, config_hash: configHash(s), source: 'test' });
  await store.close();
}

async function rawRecords(dir: string): Promise<{ meta: { config_version: number }; journal: Uint8Array | undefined }> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const [meta, journal] = await db.getMany(['meta', 'journal']);
  await db.close();
  return { meta: JSON.parse(Buffer.from(meta!).toString('utf8')), journal };
}

test('changes are journaled beside the snapshot (no re-encode) and a restart serves snapshot + journal', async () => {
  const dir = path.join(tmp, 'journal', 'dp-cache');
  await seed(dir, snapshot(4));
  const { log, warnings } = capture();
  const a = await loaded(dir, log);
  a.receive(gossip.pack({ v: 1, events: [event(5, 'create', 2, route(2))] }));
  a.receive(gossip.pack({ v: 1, events: [event(6, 'update', 0, route(0, ['/renamed']))] }));
  a.receive(gossip.pack({ v: 1, events: [event(7, 'delete', 1, null)] }));
  const hash = a.configHash();
  expect(a.configVersion()).toBe(7);
  await a.stop();
  await closeStore(a);

  const raw = await rawRecords(dir);
  expect(raw.meta.config_version).toBe(4); // the snapshot was not re-encoded
  expect(raw.journal).toBeDefined();

  const b = await loaded(dir, log);
  expect(b.configVersion()).toBe(7);
  expect(b.configHash()).toBe(hash);
  const routes = [...b.cache.store.all('routes')] as unknown as { name: string; paths: string[] }[];
  expect(routes.map((r) => r.name).sort()).toEqual(['r0', 'r2']);
  expect(routes.find((r) => r.name === 'r0')!.paths).toEqual(['/renamed']);
  expect(warnings()).toEqual([]);
  await b.stop();
  await closeStore(b);
});

test('a journal that does not follow the stored snapshot is dropped with a warning; the snapshot is served', async () => {
  const dir = path.join(tmp, 'stale-journal', 'dp-cache');
  await seed(dir, snapshot(4));
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const other = snapshot(3);
  await db.put('journal', packMessage({ base: { config_version: 3, config_hash: configHash(other) }, config_version: 5, config_hash: 'x', events: [event(5, 'delete', 0, null)] }));
  await db.close();
  const { log, warnings } = capture();
  const s = await loaded(dir, log);
  expect(s.configVersion()).toBe(4);
  expect(s.configHash()).toBe(configHash(snapshot(4)));
  expect(warnings().join('\n')).toMatch(/journal .* is unusable \(it follows version 3, the snapshot is 4\)/);
  await closeStore(s);
});

test('a journal whose changes do not lead to the saved config_hash is not applied', async () => {
  const dir = path.join(tmp, 'wrong-journal-hash', 'dp-cache');
  const base = snapshot(4);
  await seed(dir, base);
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.put('journal', packMessage({ base: { config_version: 4, config_hash: configHash(base) }, config_version: 5, config_hash: 'not-the-hash', events: [event(5, 'delete', 0, null)] }));
  await db.close();
  const { log, warnings } = capture();
  const s = await loaded(dir, log);
  expect(s.configHash()).toBe(configHash(base));
  expect([...s.cache.store.all('routes')]).toHaveLength(2);
  expect(warnings().join('\n')).toMatch(/serving the snapshot without them/);
  await closeStore(s);
});

test('each write appends only the events not yet written, as a part; a restart reads every part; a missing part drops the journal with a warning', async () => {
  const dir = path.join(tmp, 'parts', 'dp-cache');
  await seed(dir, snapshot(4));
  const { log, warnings } = capture();
  const a = await loaded(dir, log);
  // Three bursts, each written before the next arrives (the writer waits 20 ms to coalesce).
  const bursts = [[event(5, 'create', 2, route(2))], [event(6, 'create', 3, route(3)), event(7, 'update', 0, route(0, ['/renamed']))], [event(8, 'delete', 1, null)]];
  for (const b of bursts) {
    a.receive(gossip.pack({ v: 1, events: b }));
    await new Promise((r) => setTimeout(r, 150));
  }
  const hash = a.configHash();
  await a.stop();
  await closeStore(a);

  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const parts = await db.getMany(['journal/0', 'journal/1', 'journal/2', 'journal/3']);
  await db.close();
  // Each part holds its own burst only: a write costs what it adds.
  expect(parts.slice(0, 3).map((p) => unpackMessage<ChangeEvent[]>(p!).map((e) => e.config_version))).toEqual([[5], [6, 7], [8]]);
  expect(parts[3]).toBeUndefined();

  const b = await loaded(dir, log);
  expect(b.configVersion()).toBe(8);
  expect(b.configHash()).toBe(hash);
  // One more change after a restart: the journal read back is rewritten from part 0 with it.
  b.receive(gossip.pack({ v: 1, events: [event(9, 'delete', 2, null)] }));
  const hash9 = b.configHash();
  await b.stop();
  await closeStore(b);
  const c = await loaded(dir, log);
  expect(c.configVersion()).toBe(9);
  expect(c.configHash()).toBe(hash9);
  await closeStore(c);
  expect(warnings()).toEqual([]);

  // A part lost: the journal is not served at all (only the snapshot), and a warning says which.
  const db2 = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db2.put('journal', packMessage({ ...unpackMessage<Record<string, unknown>>((await db2.get('journal'))!), parts: 2 }));
  await db2.del('journal/1');
  await db2.close();
  const d = await loaded(dir, log);
  expect(d.configVersion()).toBe(4);
  expect(d.configHash()).toBe(configHash(snapshot(4)));
  expect(warnings().join('\n')).toMatch(/journal .* is unusable \(its part 1 of 2 is missing\)/);
  await closeStore(d);
});
