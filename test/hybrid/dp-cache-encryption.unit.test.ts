// The data plane's on-disk configuration cache encrypted at rest (AES-256-GCM, key derived
// from cluster_cert_key): no private key is in the files in clear, whether it came in the
// snapshot or in the journal of changes; a store sealed with another key is ignored with a
// warning; a store an earlier version wrote in clear is read once and replaced by a sealed one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { Level } from 'level';
import { afterAll, describe, expect, test } from 'vitest';
import { configHash } from '../../src/cache/config-hash.ts';
import type { Certificate, ChangeEvent, ConfigSnapshot } from '../../src/entities/types.ts';
import { generateClusterCert, loadClusterIdentity, writeClusterCert } from '../../src/hybrid/cert.ts';
import { encodeSnapshot } from '../../src/sync/codec.ts';
import { CacheSeal, cacheKeyFrom } from '../../src/sync/push/cache-seal.ts';
import { DpCacheStore } from '../../src/sync/push/level-store.ts';
import { captureLog as capture } from '../support/log-capture.ts';
import { snapshot } from '../support/proxy-fixtures.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-dp-cache-seal-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const clusterFiles = writeClusterCert(path.join(tmp, 'cluster'));
const clusterKeyPem = fs.readFileSync(clusterFiles.key, 'utf8');
const seal = () => new CacheSeal(loadClusterIdentity(clusterFiles.cert, clusterFiles.key).cacheKey);

function certificate(): Certificate {
  const pair = generateClusterCert({ commonName: 'secret.example' });
  return { id: randomUUID(), cert: pair.cert, key: pair.key, cert_alt: null, key_alt: null, tags: null, created_at: 1, updated_at: 1 };
}

/** Strings that give a PEM private key away: its header, and each line of its body. */
function keyMarkers(pem: string): string[] {
  return ['PRIVATE KEY', ...pem.split('\n').filter((l) => l && !l.startsWith('-----'))];
}

/** Every byte of every file of the store. */
function storeBytes(dir: string): Buffer {
  return Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
}

function found(dir: string, markers: string[]): string[] {
  const bytes = storeBytes(dir);
  return markers.filter((m) => bytes.includes(Buffer.from(m)));
}

const event = (version: number, c: Certificate): ChangeEvent => ({ id: randomUUID(), config_version: version, channel: 'invalidations', entity: 'certificates', op: 'create', entity_id: c.id, cache_keys: [], data: c, node_id: null, at: 1 });

/** A snapshot holding one certificate, then a journal adding another: keys in both. */
async function fill(store: DpCacheStore): Promise<{ snap: ConfigSnapshot; inSnapshot: Certificate; inJournal: Certificate }> {
  const inSnapshot = certificate();
  const inJournal = certificate();
  const snap = snapshot({ config_version: 1, certificates: [inSnapshot] });
  await store.write(await encodeSnapshot(snap), { config_version: 1, config_hash: configHash(snap), source: 'test' });
  await store.appendJournal({ base: { config_version: 1, config_hash: configHash(snap) }, config_version: 2, config_hash: 'h2' }, 0, [event(2, inJournal)]);
  return { snap, inSnapshot, inJournal };
}

describe('dp-cache encryption at rest', () => {
  test('the key is HKDF of cluster_cert_key: the same pair gives the same key, another pair another', () => {
    const other = writeClusterCert(path.join(tmp, 'other'));
    const a = loadClusterIdentity(clusterFiles.cert, clusterFiles.key).cacheKey;
    expect(a).toHaveLength(32);
    expect(cacheKeyFrom(createPrivateKey(clusterKeyPem))).toEqual(a);
    expect(loadClusterIdentity(other.cert, other.key).cacheKey).not.toEqual(a);
  });

  test('sealed: no private key in the files in clear, and the cache reads back whole', async () => {
    const dir = path.join(tmp, 'sealed', 'dp-cache');
    const store = new DpCacheStore(dir, capture().log, seal());
    const { inSnapshot, inJournal } = await fill(store);
    await store.close();
    const markers = [...keyMarkers(inSnapshot.key), ...keyMarkers(inJournal.key), ...keyMarkers(clusterKeyPem)];
    expect(found(dir, markers)).toEqual([]);

    const { log, warnings } = capture();
    const again = new DpCacheStore(dir, log, seal());
    const got = await again.read();
    await again.close();
    expect(warnings()).toEqual([]);
    expect(got?.snapshot.certificates?.map((c) => c.key)).toEqual([inSnapshot.key]);
    expect(got?.journal?.events.map((e) => (e.data as Certificate).key)).toEqual([inJournal.key]);
  });

  test('the same store unsealed (as DB-less nodes keep theirs) shows the journal key in clear: the check above can fail', async () => {
    const dir = path.join(tmp, 'clear', 'dp-cache');
    const store = new DpCacheStore(dir, capture().log);
    const { inJournal } = await fill(store);
    await store.close();
    expect(found(dir, keyMarkers(inJournal.key)).length).toBeGreaterThan(0);
  });

  test('sealed with another cluster_cert_key: ignored with a warning, never served', async () => {
    const dir = path.join(tmp, 'other-key', 'dp-cache');
    const writer = new DpCacheStore(dir, capture().log, seal());
    await fill(writer);
    await writer.close();
    const other = writeClusterCert(path.join(tmp, 'rotated'));
    const { log, warnings } = capture();
    const reader = new DpCacheStore(dir, log, new CacheSeal(loadClusterIdentity(other.cert, other.key).cacheKey));
    expect(await reader.read()).toBeNull();
    await reader.close();
    expect(warnings().join('\n')).toMatch(/cannot be decrypted .*does not decrypt with the key derived from this node's cluster_cert_key/);
  });

  test('written in clear by an earlier version: read once with a warning, then replaced by a sealed store', async () => {
    const dir = path.join(tmp, 'legacy', 'dp-cache');
    const old = new DpCacheStore(dir, capture().log);
    const { inSnapshot, inJournal } = await fill(old);
    await old.close();

    const { log, warnings } = capture();
    const store = new DpCacheStore(dir, log, seal());
    const got = await store.read();
    expect(got?.snapshot.certificates?.map((c) => c.key)).toEqual([inSnapshot.key]);
    expect(got?.journal?.events).toHaveLength(1);
    expect(warnings().join('\n')).toMatch(/was written unencrypted \(by an earlier version\); read this once and now encrypted/);
    // The store keeps working after the swap: a later write and read.
    const next = snapshot({ config_version: 3 });
    await store.write(await encodeSnapshot(next), { config_version: 3, config_hash: configHash(next), source: 'test' });
    await store.close();

    expect(found(dir, [...keyMarkers(inSnapshot.key), ...keyMarkers(inJournal.key)])).toEqual([]);
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    for await (const [k, v] of db.iterator()) expect(CacheSeal.isSealed(v), k).toBe(true);
    await db.close();
    const later = capture();
    const reread = new DpCacheStore(dir, later.log, seal());
    expect((await reread.read())?.meta.config_version).toBe(3);
    await reread.close();
    expect(later.warnings()).toEqual([]);
  });

  test('a sealed value moved to another record, or altered, does not open', () => {
    const s = seal();
    const v = s.seal('snapshot', Buffer.from('configuration'));
    expect(Buffer.from(s.open('snapshot', v)).toString()).toBe('configuration');
    expect(() => s.open('meta', v)).toThrow(/does not decrypt/);
    const altered = Buffer.from(v);
    altered[20]! ^= 1;
    expect(() => s.open('snapshot', altered)).toThrow(/does not decrypt/);
  });
});
