// A data plane restarted from its level cache hands the stored snapshot to its proxy workers
// packed, as soon as it passes its checksum, and checks its config_hash meanwhile
// (src/node/parts/dp-handover.ts): the journal of later changes follows, and a snapshot whose hash
// does not match is withdrawn. Real processes through bin/gossamer.js, no control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, expect, test } from 'vitest';
import { configHash } from '../../src/cache/config-hash.ts';
import { freePort } from '../../src/db/embedded.ts';
import type { ChangeEvent, ConfigSnapshot } from '../../src/entities/types.ts';
import { encodeSnapshot } from '../../src/sync/codec.ts';
import { DataPlaneSync } from '../../src/sync/push/data-plane-sync.ts';
import { DpCacheStore } from '../../src/sync/push/level-store.ts';
import { CacheSeal } from '../../src/sync/push/cache-seal.ts';
import { loadClusterIdentity } from '../../src/hybrid/cert.ts';
import { startEchoServer, type EchoServer } from '../../src/up/echo.ts';
import { BIN, cleanEnv, runCli } from '../support/cli.ts';
import { writeDataPlaneConf } from '../support/dp-conf.ts';
import { captureLog } from '../support/log-capture.ts';
import { until } from '../support/until.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-restart-handover-'));
const running: ChildProcess[] = [];
let echo: EchoServer | undefined;
afterAll(async () => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
  await echo?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SERVICE = '00000000-0000-4000-8000-000000000001';
const routeId = (i: number) => `00000000-0000-4000-8000-${String(i + 100).padStart(12, '0')}`;
const route = (i: number) => ({ id: routeId(i), name: `r${i}`, paths: [`/r${i}`], service: { id: SERVICE } });

function snapshot(version: number, echoPort: number): ConfigSnapshot {
  const service = { id: SERVICE, name: 'echo', protocol: 'http', host: '127.0.0.1', port: echoPort, path: null, retries: 0, connect_timeout: 5000, write_timeout: 5000, read_timeout: 5000, enabled: true, tags: null, created_at: 1, updated_at: 1 };
  const snap = { config_version: version, services: [service], routes: [route(0), route(1)] } as unknown as Record<string, unknown>;
  for (const e of ['consumers', 'plugins', 'upstreams', 'targets', 'keyauth_credentials', 'basicauth_credentials', 'acls']) snap[e] = [];
  return snap as unknown as ConfigSnapshot;
}

function event(v: number, op: ChangeEvent['op'], i: number, data: unknown): ChangeEvent {
  return { id: `00000000-0000-4000-9000-${String(v).padStart(12, '0')}`, config_version: v, channel: 'invalidations', entity: 'routes', op, entity_id: routeId(i), cache_keys: [`routes:${routeId(i)}`], data, node_id: null, at: Date.now() };
}

/** A data plane's cache as production writes it: the snapshot, then changes journaled by DataPlaneSync. */
async function seedCache(prefix: string, snap: ConfigSnapshot, hash: string, events: ChangeEvent[]): Promise<void> {
  const dir = path.join(prefix, 'dp-cache');
  const { log } = captureLog();
  // Encrypted with the key the data plane derives from its cluster_cert_key.
  const certs = path.join(tmp, 'certs');
  const seal = new CacheSeal(loadClusterIdentity(path.join(certs, 'cluster.crt'), path.join(certs, 'cluster.key')).cacheKey);
  const store = new DpCacheStore(dir, log, seal);
  await store.write(await encodeSnapshot(snap), { config_version: snap.config_version, config_hash: hash, source: 'test' });
  if (events.length) {
    const sync = new DataPlaneSync({ log, store, hello: { node_id: 'x', name: 'x', hostname: 'h', version: '0' }, controlPlanes: [], onSnapshot: () => {}, onEvents: () => {} });
    expect(await sync.loadFromDisk()).toBe(true);
    sync.receive(new Packr({ useRecords: false }).pack({ v: 1, events }));
    await sync.stop();
  }
  await store.close();
}

async function startDataPlane(name: string): Promise<{ proxy: number; admin: number; prefix: string; log: () => string; start: () => void }> {
  const certs = path.join(tmp, 'certs');
  if (!fs.existsSync(certs)) expect((await runCli(['cluster', 'gen-cert', '--out', certs])).code).toBe(0);
  const { conf, prefix, proxy, admin } = await writeDataPlaneConf(tmp, name, certs);
  const logFile = path.join(prefix, 'out.log');
  return {
    proxy,
    admin,
    prefix,
    log: () => fs.readFileSync(logFile, 'utf8'),
    start: () => {
      const out = fs.openSync(logFile, 'a');
      running.push(spawn(process.execPath, [BIN, 'start', '-c', conf], { env: cleanEnv(), stdio: ['ignore', out, out] }));
    },
  };
}

const status = async (port: number, p: string) => (await fetch(`http://127.0.0.1:${port}${p}`)).status;

test('restarted from a cache with a journal, the workers serve the snapshot with the journaled changes on top', async () => {
  echo = await startEchoServer({ port: await freePort() });
  const dp = await startDataPlane('dp-journal');
  const snap = snapshot(4, echo.port);
  await seedCache(dp.prefix, snap, configHash(snap), [event(5, 'create', 2, route(2)), event(6, 'delete', 1, null)]);
  dp.start();
  await until('the journaled route is served and the deleted one is not', async () => ((await status(dp.proxy, '/r2')) === 200 && (await status(dp.proxy, '/r1')) === 404 ? true : undefined), 60_000, dp.log);
  expect(await status(dp.proxy, '/r0')).toBe(200);
  expect(dp.log()).toMatch(/loaded the cached configuration \(version 6/);
  expect(dp.log()).not.toMatch(/written unencrypted|cannot be decrypted/);
});

test('a cached snapshot whose config_hash does not match is withdrawn from the workers and ignored', async () => {
  const dp = await startDataPlane('dp-wrong-hash');
  const snap = snapshot(4, echo!.port);
  await seedCache(dp.prefix, snap, 'not-its-hash', []);
  dp.start();
  await until('the Admin API answers', async () => ((await status(dp.admin, '/status')) === 200 ? true : undefined), 60_000, dp.log);
  await until('the snapshot is withdrawn', async () => ((await status(dp.proxy, '/r0')) === 404 ? true : undefined), 20_000, dp.log);
  expect(dp.log()).toMatch(/is corrupt \(config_hash/);
  expect(await status(dp.admin, '/status/ready')).toBe(503);
});
