// The parts of hybrid mode that need no process: the data-plane level cache (verified on
// read; truncated, half-written or unopenable stores are refused with a warning), the
// cluster certificate and the key derived from it, the control plane's snapshot cache, the
// snapshot encoding (and the one before it), and the push protocol between two real libp2p hosts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Level } from 'level';
import { afterAll, expect, test } from 'vitest';
import { captureLog } from '../support/log-capture.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import type { ConfigSnapshot } from '../../src/entities/types.ts';
import { generateClusterCert, loadClusterIdentity, pskFromClusterKey, writeClusterCert } from '../../src/hybrid/cert.ts';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { pskFromSecret } from '../../src/cluster/identity.ts';
import type { ClusterLibp2p } from '../../src/cluster/host.ts';
import { startTestHost } from '../support/libp2p-host.ts';
import { handlePush, openPushStream } from '../../src/sync/push/protocol.ts';
import { PushChannel } from '../../src/sync/push/push-channel.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/sync/codec.ts';
import { DpCacheStore } from '../../src/sync/push/level-store.ts';
import { SnapshotCache } from '../../src/sync/push/snapshot-cache.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-hybrid-parts-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const capture = captureLog;

function snapshot(version: number, routes = 1): ConfigSnapshot {
  const service = { id: '00000000-0000-4000-8000-000000000001', name: 'svc', protocol: 'http', host: 'example.test', port: 80, path: null, retries: 5, connect_timeout: 60000, write_timeout: 60000, read_timeout: 60000, enabled: true, tags: null, created_at: 1, updated_at: 1 };
  return {
    config_version: version,
    services: [service as ConfigSnapshot['services'][number]],
    routes: Array.from({ length: routes }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i + 100).padStart(12, '0')}`, name: `r${i}`, paths: [`/r${i}`], service: { id: service.id } }) as unknown as ConfigSnapshot['routes'][number]),
    consumers: [],
    plugins: [],
    upstreams: [],
    targets: [],
    keyauth_credentials: [],
  };
}

async function writeStore(dir: string, snaps: ConfigSnapshot[]): Promise<void> {
  const { log } = capture();
  const store = new DpCacheStore(dir, log);
  for (const s of snaps) await store.write(await encodeSnapshot(s), { config_version: s.config_version, config_hash: configHash(s), source: 'test' });
  await store.close();
}

test('the level cache returns the last snapshot written, verified', async () => {
  const dir = path.join(tmp, 'ok', 'dp-cache');
  await writeStore(dir, [snapshot(1), snapshot(2, 3)]);
  const { log, warnings } = capture();
  const store = new DpCacheStore(dir, log);
  const got = await store.read();
  await store.close();
  expect(got?.meta.config_version).toBe(2);
  expect(got?.snapshot.routes).toHaveLength(3);
  expect(got?.meta.config_hash).toBe(configHash(snapshot(2, 3)));
  expect(warnings()).toEqual([]);
  // No store at all is not a problem worth a warning.
  const none = new DpCacheStore(path.join(tmp, 'none', 'dp-cache'), log);
  expect(await none.read()).toBeNull();
  expect(warnings()).toEqual([]);
});

test('a truncated level cache is ignored with a warning', async () => {
  const dir = path.join(tmp, 'truncated', 'dp-cache');
  await writeStore(dir, [snapshot(1)]);
  for (const f of fs.readdirSync(dir)) if (/\.(log|ldb)$/.test(f)) fs.truncateSync(path.join(dir, f), 7);
  const { log, warnings } = capture();
  const store = new DpCacheStore(dir, log);
  expect(await store.read()).toBeNull();
  await store.close();
  expect(warnings().join('\n')).toMatch(/corrupt or half-written/);
});

test('a half-written cache (snapshot and meta from different writes) is ignored with a warning', async () => {
  const dir = path.join(tmp, 'half', 'dp-cache');
  await writeStore(dir, [snapshot(1)]);
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.put('snapshot', await encodeSnapshot(snapshot(2, 5)));
  await db.close();
  const { log, warnings } = capture();
  const store = new DpCacheStore(dir, log);
  expect(await store.read()).toBeNull();
  await store.close();
  expect(warnings().join('\n')).toMatch(/checksum mismatch/);
});

test('a cache LevelDB cannot open is set aside with a warning, and a new one can be written', async () => {
  const dir = path.join(tmp, 'broken', 'dp-cache');
  await writeStore(dir, [snapshot(1)]);
  for (const f of fs.readdirSync(dir)) if (f.startsWith('MANIFEST') || f === 'CURRENT') fs.writeFileSync(path.join(dir, f), 'garbage\n');
  const { log, warnings } = capture();
  const store = new DpCacheStore(dir, log);
  expect(await store.read()).toBeNull();
  expect(warnings().join('\n')).toMatch(/is corrupt .*moved to/);
  const s = snapshot(3);
  await store.write(await encodeSnapshot(s), { config_version: 3, config_hash: configHash(s), source: 'test' });
  expect((await store.read())?.meta.config_version).toBe(3);
  await store.close();
});

test('gen-cert writes a real self-signed certificate; one pair gives one cluster key, another pair another', () => {
  const a = writeClusterCert(path.join(tmp, 'a'));
  const b = writeClusterCert(path.join(tmp, 'b'));
  const cert = new X509Certificate(fs.readFileSync(a.cert));
  expect(cert.subject).toBe('CN=gossamer_clustering');
  expect(cert.verify(cert.publicKey)).toBe(true);
  expect(cert.checkPrivateKey(createPrivateKey(fs.readFileSync(a.key)))).toBe(true);
  expect((fs.statSync(a.key).mode & 0o777).toString(8)).toBe('600');
  const ia = loadClusterIdentity(a.cert, a.key);
  expect(Buffer.from(loadClusterIdentity(a.cert, a.key).psk).equals(Buffer.from(ia.psk))).toBe(true);
  expect(Buffer.from(loadClusterIdentity(b.cert, b.key).psk).equals(Buffer.from(ia.psk))).toBe(false);
  expect(Buffer.from(ia.psk).toString()).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
  expect(() => loadClusterIdentity(a.cert, b.key)).toThrow(/not a pair/);
  expect(() => loadClusterIdentity(path.join(tmp, 'missing.crt'), a.key)).toThrow(/cannot read cluster_cert .*ENOENT/);
  expect(() => writeClusterCert(path.join(tmp, 'a'))).toThrow(/already exists/);
  expect(pskFromClusterKey(createPrivateKey(generateClusterCert().key))).toHaveLength(ia.psk.length);
});

test('the control plane encodes a snapshot once per version, however many data planes ask', async () => {
  let version = 1;
  let snap = snapshot(1, 50);
  const cache = new SnapshotCache({ configVersion: () => version, configHash: () => configHash(snap), snapshot: () => snap });
  const first = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
  expect(cache.builds).toBe(1);
  expect(new Set(first.map((b) => b.response)).size).toBe(1);
  version = 2;
  snap = snapshot(2, 51);
  const second = await cache.get();
  await cache.get();
  expect(cache.builds).toBe(2);
  expect(second.config_version).toBe(2);
  const { unpackMessage } = await import('../../src/sync/codec.ts');
  const res = unpackMessage<{ data: Uint8Array; config_hash: string }>(second.response);
  const decoded = await decodeSnapshot(res.data);
  expect(configHash(decoded)).toBe(res.config_hash);
  expect(decoded.routes).toHaveLength(51);
});

test('a cached snapshot whose config_hash does not match what was saved is not loaded', async () => {
  const { DataPlaneSync } = await import('../../src/sync/push/data-plane-sync.ts');
  const dir = path.join(tmp, 'wrong-hash', 'dp-cache');
  const { log, warnings } = capture();
  const s = snapshot(4, 2);
  const store = new DpCacheStore(dir, log);
  await store.write(await encodeSnapshot(s), { config_version: 4, config_hash: configHash(snapshot(4, 3)), source: 'test' });
  const mk = () => new DataPlaneSync({ log, store, hello: { node_id: 'x', name: 'x', hostname: 'h', version: '0' }, controlPlanes: [], onSnapshot: () => {}, onEvents: () => {} });
  const sync = mk();
  expect(await sync.loadFromDisk()).toBe(false);
  expect(sync.cache.loaded).toBe(false);
  expect(warnings().join('\n')).toMatch(/is corrupt \(config_hash/);
  // The same bytes saved with their true hash load fine.
  await store.write(await encodeSnapshot(s), { config_version: 4, config_hash: configHash(s), source: 'test' });
  const ok = mk();
  expect(await ok.loadFromDisk()).toBe(true);
  expect(ok.configHash()).toBe(configHash(s));
  expect([...ok.cache.store.all('routes')]).toHaveLength(2);
  await store.close();
});

test('snapshots are packed as records (one key set per shape); plain-packed ones from before still decode', async () => {
  const s = snapshot(7, 300);
  const bytes = await encodeSnapshot(s);
  const raw = zlib.brotliDecompressSync(bytes);
  const plain = new Packr({ useRecords: false, moreTypes: false }).pack(s);
  // Each route's keys are written once, not 300 times.
  const times = (b: Uint8Array, word: string) => Buffer.from(b).toString('latin1').split(word).length - 1;
  expect(times(plain, 'paths')).toBe(300);
  expect(times(raw, 'paths')).toBe(1);
  expect(await decodeSnapshot(bytes)).toEqual(s);
  // A cache or a control plane of the previous version: plain msgpack maps, brotli quality 5.
  const old = zlib.brotliCompressSync(plain, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  expect(await decodeSnapshot(old)).toEqual(s);
});

test('pushes reach the other host in order on one kept stream, with the sender named', async () => {
  const psk = pskFromSecret(randomBytes(32).toString('hex'));
  const hosts = [await startTestHost(psk), await startTestHost(psk)];
  const [cp, dp] = hosts as [ClusterLibp2p, ClusterLibp2p];
  try {
    const got: { bytes: Uint8Array; peer: string }[] = [];
    await handlePush(dp, (bytes, peer) => got.push({ bytes, peer }));
    let opened = 0;
    const errors: Error[] = [];
    const ch = new PushChannel(async () => {
      opened++;
      return openPushStream(await cp.dial(dp.getMultiaddrs()[0]!), 5000);
    }, (err) => errors.push(err));
    // Sent back to back while the stream opens, then one by one on the open stream; one is
    // larger than a yamux window, so it arrives in many chunks.
    const messages = Array.from({ length: 20 }, (_, i) => new Uint8Array(randomBytes(i === 7 ? 300_000 : 100 + i)));
    for (const m of messages.slice(0, 10)) expect(ch.send(m)).toBe(true);
    const until = async (n: number) => {
      const deadline = Date.now() + 10_000;
      while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    await until(10);
    for (const m of messages.slice(10)) {
      ch.send(m);
      await until(got.length + 1);
    }
    await until(messages.length);
    const key = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(got.map((g) => key(g.bytes))).toEqual(messages.map(key));
    expect(new Set(got.map((g) => g.peer))).toEqual(new Set([cp.peerId.toString()]));
    expect(opened).toBe(1);
    expect(errors).toEqual([]);
    // The stream dropped (its connection closed): the next message opens another.
    await cp.hangUp(dp.peerId);
    await new Promise((r) => setTimeout(r, 200));
    const last = new Uint8Array(randomBytes(64));
    ch.send(last);
    await until(messages.length + 1);
    expect(key(got.at(-1)!.bytes)).toBe(key(last));
    expect(opened).toBe(2);
    ch.close();
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});
