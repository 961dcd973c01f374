// `npm run bench:hybrid [-- --quick]`: control plane / data plane figures with real processes.
// One control plane on embedded Postgres, 5 data planes (database = off):
//   1. a change on the control plane served by all 5 data planes (p50/p99), next to Kong's bound;
//   2. a 10,000-route / 10,000-consumer configuration: snapshot build + transfer + apply on a
//      data plane, data-plane RSS, and incremental changes at that size (no snapshot per change);
//   3. the control plane SIGKILLed under traffic: failed requests on the data planes;
//   4. a data plane restarted while the control plane is down: time to serve from its cache.
import '../../src/polyfill.ts';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { Client } from 'undici';
import { freePort, startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';
import type { EchoServer } from '../../src/up/echo.ts';
import { SimNode } from '../harness/node-process.ts';
import { adminCall, proxiedStatus } from '../harness/admin-call.ts';
import { hybridNodeConfig } from '../harness/hybrid-config.ts';
import { stageTable, type ChangeSeen } from './hybrid-stages.ts';
import { nowMs } from '../../src/sync/trace.ts';
import { pct } from './stats.ts';
import { childPids, cpuSeconds } from './proc.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const KEEP = args.includes('--keep');
// `--only restart` runs just part 4 (a 10k-route control plane, one data plane, the control
// plane killed, the data plane restarted RESTARTS times); `--only changes` just part 1.
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const SETTLE_MS = Number(args.includes('--settle') ? args[args.indexOf('--settle') + 1] : 0);
const RESTARTS = Number(args.includes('--restarts') ? args[args.indexOf('--restarts') + 1] : 3);
// `--cpu-prof DIR`: the restarted data plane (primary and workers) writes V8 CPU profiles there.
const CPU_PROF = args.includes('--cpu-prof') ? path.resolve(args[args.indexOf('--cpu-prof') + 1]!) : null;
// `--ab` (with --only restart): each restart runs twice, interleaved: the sources through tsx
// (GOSSAMER_NO_BUNDLE=1) and the start-up bundle (src/boot/), so load hits both alike.
const AB = args.includes('--ab');
const DPS = 5;
const CHANGES = QUICK ? 20 : 100;
const WARMUP = 10;
const IDLE_MS = QUICK ? 3000 : 5000;
const BIG_CHANGES = QUICK ? 5 : 20;
const BIG = 10_000;
const WINDOW_MS = QUICK ? 20_000 : 60_000;
const BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stdout.write(s + '\n');

let tmp = '';
let pgServer: EmbeddedPg | undefined;
let echo: EchoServer | undefined;
const nodes: SimNode[] = [];
let TRACE_DIR = '';

const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
/** Requests the change-timing loops sent, and the ms they took: one poll of one data plane. */
const polls = { n: 0, ms: 0 };

// Bulk loads of 10k entities can take long on a busy machine: 30 s instead of the harness's 10 s.
const admin = (n: SimNode, method: string, url: string, body?: unknown): Promise<any> => adminCall(n, method, url, body, 30_000);

const status = (n: SimNode, p: string): Promise<number> => proxiedStatus(n, p, 3000);

/** ms from t0 until every node serves `p` (each node polled back to back). */
async function servedBy(dps: SimNode[], p: string, t0: number, timeoutMs = 20_000): Promise<number> {
  return Math.max(...(await servedEach(dps, p, t0, timeoutMs)));
}

const pollClients = new Map<SimNode, Client>();
/**
 * GET `p` on a data plane for the change timings, on one kept-alive connection per node:
 * fetch cost the bench ~0.3-1 ms of CPU per request against ~0.05 here, and with five data
 * planes polled at once the bench took a core of the two from the nodes it was timing.
 */
async function pollStatus(n: SimNode, p: string): Promise<number> {
  let c = pollClients.get(n);
  if (!c) pollClients.set(n, (c = new Client(n.proxyUrl, { headersTimeout: 3000, bodyTimeout: 3000 })));
  try {
    const r = await c.request({ path: p, method: 'GET' });
    await r.body.dump();
    return r.statusCode;
  } catch {
    return 0;
  }
}
/** Pause between two polls of one data plane while timing changes: adds ~1 ms to each figure, keeps the polling to a few hundred requests a second per node. */
const POLL_PAUSE_MS = 1;

/**
 * ms from t0 until each node serves `p`; `probe` asks once, `pauseMs` between two asks;
 * `asked` gets, per node, when the ask that was answered 200 was sent (ms from t0).
 */
async function servedEach(dps: SimNode[], p: string, t0: number, timeoutMs = 20_000, probe = status, pauseMs = 0, asked: number[] = []): Promise<number[]> {
  return Promise.all(
    dps.map(async (n, i) => {
      while (performance.now() - t0 < timeoutMs) {
        const p0 = performance.now();
        const code = await probe(n, p);
        polls.n++;
        polls.ms += performance.now() - p0;
        asked[i] = p0 - t0;
        if (code === 200) return performance.now() - t0;
        // Nothing listening yet (a node starting): a refused connection returns at once, and
        // asking again back to back would take a core from the node being timed.
        if (code === 0) await sleep(10);
        else if (pauseMs) await sleep(pauseMs);
      }
      return Infinity;
    }),
  );
}

/**
 * Create `n` routes one after the other; for each, the ms from the Admin API's 201 until each
 * data plane serves it. `seen` gets each change's wall-clock times for the per-stage table.
 */
async function timeChanges(cp: SimNode, dps: SimNode[], prefix: string, n: number, seen: ChangeSeen[] = []): Promise<number[][]> {
  const per: number[][] = [];
  for (let i = 0; i < n; i++) {
    // Paths are prefixes in Kong's router: /c1 would serve /c10../c19 before they exist, so
    // each path ends with a slash (/c1/ is no prefix of /c10/).
    const p = `/${prefix}${i}/`;
    const sent = nowMs();
    const route = (await admin(cp, 'POST', '/services/echo/routes', { name: `${prefix}${i}`, paths: [p] })) as { id: string };
    const t0 = performance.now();
    const asked: number[] = [];
    const each = await servedEach(dps, p, t0, 20_000, pollStatus, POLL_PAUSE_MS, asked);
    per.push(each);
    const acked = nowMs() - (performance.now() - t0);
    seen.push({ id: route.id, sent, acked, served: each.map((v) => acked + v), asked: asked.map((v) => acked + v) });
  }
  return per;
}

/** The per-stage table of `seen` from the trace files the nodes wrote (they flush within 250 ms). */
async function stages(cp: SimNode, dps: SimNode[], seen: ChangeSeen[]): Promise<string> {
  await sleep(600);
  const pids = new Map<number, string>();
  for (const n of [cp, ...dps]) if (n.pid) pids.set(n.pid, n.name);
  return stageTable(TRACE_DIR, pids, dps.map((d) => d.name), seen);
}

/** The slowest changes, each with every data plane's time: is one data plane late, or all? */
function slowest(per: number[][], dps: SimNode[], n = 3): string {
  return per
    .map((p, i) => ({ i, p, max: Math.max(...p) }))
    .sort((a, b) => b.max - a.max)
    .slice(0, n)
    .map(({ i, p }) => `#${i}: ${p.map((v, k) => `${dps[k]!.name} ${ms(v)}`).join(', ')}`)
    .join('\n     ');
}

async function makeNode(name: string, role: 'control_plane' | 'data_plane', cpCluster: number): Promise<SimNode> {
  const ports = { proxy: await freePort(), admin: await freePort(), cluster: role === 'control_plane' ? cpCluster : await freePort() };
  const config = {
    ...hybridNodeConfig({
      name,
      role,
      ports,
      certDir: path.join(tmp, 'certs'),
      database: { pg_host: '127.0.0.1', pg_port: pgServer!.port, pg_user: pgServer!.user, pg_password: pgServer!.password, pg_database: 'gossamer' },
      controlPlanePort: cpCluster,
    }),
    log_level: 'warn',
  };
  const n = new SimNode({ name, dir: path.join(tmp, name), ports, config, onState: () => {}, readyTimeoutMs: 60_000 });
  nodes.push(n);
  return n;
}

async function bulkInsert(): Promise<void> {
  const pool = new pg.Pool({ host: '127.0.0.1', port: pgServer!.port, user: pgServer!.user, password: pgServer!.password, database: 'gossamer', max: 1 });
  try {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const svc = await c.query(
        `INSERT INTO services (id, created_at, updated_at, name, retries, protocol, host, port, path, connect_timeout, write_timeout, read_timeout, enabled)
         VALUES (gen_random_uuid(), now(), now(), 'big', 5, 'http', '127.0.0.1', $1, null, 60000, 60000, 60000, true) RETURNING id`,
        [echo!.port],
      );
      await c.query(
        `INSERT INTO routes (id, created_at, updated_at, name, service_id, protocols, paths, regex_priority, strip_path, path_handling, preserve_host, request_buffering, response_buffering, https_redirect_status_code)
         SELECT gen_random_uuid(), now(), now(), 'big-' || i, $1, ARRAY['http','https'], ARRAY['/big-' || i], 0, true, 'v0', false, true, true, 426 FROM generate_series(1, ${BIG}) i`,
        [svc.rows[0].id],
      );
      await c.query(`INSERT INTO consumers (id, created_at, updated_at, username) SELECT gen_random_uuid(), now(), now(), 'user-' || i FROM generate_series(1, ${BIG}) i`);
      // One event so the configuration gets a new config_version, as an import would. It names
      // no existing entity (an event without data is a delete): nodes learn the rows from a snapshot.
      await c.query(
        `INSERT INTO cluster_events (id, config_version, channel, entity, op, entity_id, cache_keys, data, node_id, created_at)
         VALUES (gen_random_uuid(), nextval('config_version_seq'), 'invalidations', 'plugins', 'delete', gen_random_uuid(), ARRAY[]::text[], NULL, NULL, clock_timestamp())`,
      );
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  } finally {
    await pool.end();
  }
}

/** RSS of a node's primary and its proxy workers (children), from ps. */
async function treeRss(n: SimNode): Promise<string> {
  if (!n.pid) return '?';
  try {
    const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(n.pid), '--ppid', String(n.pid)]);
    const kb = stdout.split('\n').map((l) => Number(l.trim())).filter((v) => v > 0);
    return `${(kb.reduce((a, b) => a + b, 0) / 1024).toFixed(0)} MiB (${kb.length} processes)`;
  } catch {
    return '?';
  }
}

interface DpStatus {
  configuration_hash: string;
  memory: { rss: string };
  hybrid: {
    last_snapshot: { bytes: number; fetch_ms: number; decode_ms: number; apply_ms: number; total_ms: number } | null;
    stats: { snapshots: number; pushedEvents: number; eventFetches: number; gapRepairs: number };
  };
}

/** CPU ms a process has used (Linux /proc), or NaN once it is gone: a figure a busy machine does not inflate. */
const cpuMs = (pid: number): number => cpuSeconds(pid, NaN) * 1000;

type CpuWindow = { before: ReturnType<typeof treeCpu>[]; after: ReturnType<typeof treeCpu>[]; ms: number };
/**
 * CPU ms per change of [cp, ...dps] over the timed changes, less what the same processes use
 * idle over as long (membership probes and heartbeats): what the path costs, whatever the
 * machine's load. /proc counts in 10 ms ticks: a figure over 100 changes is good to ~0.1 ms.
 */
function cpuPerChange(w: CpuWindow, idle: CpuWindow, bench: NodeJS.CpuUsage, changes: number): string {
  const sum = (v: number[]) => v.reduce((x, y) => x + y, 0);
  const used = (c: CpuWindow, i: number, part: 'primary' | 'workers') =>
    part === 'primary' ? c.after[i]!.primary - c.before[i]!.primary : sum(c.after[i]!.workers) - sum(c.before[i]!.workers);
  const per = (i: number, part: 'primary' | 'workers') => (used(w, i, part) - (used(idle, i, part) * w.ms) / idle.ms) / changes;
  const dps = w.after.slice(1).map((_, k) => k + 1);
  const avg = (v: number[]) => sum(v) / v.length;
  return `control plane ${ms(per(0, 'primary'))}, each data plane's primary ${ms(avg(dps.map((i) => per(i, 'primary'))))}, its proxy worker ${ms(avg(dps.map((i) => per(i, 'workers'))))}, the bench ${ms((bench.user + bench.system) / 1000 / changes)}`;
}

/** The CPU a node's primary and its proxy workers have used so far. */
function treeCpu(n: SimNode): { primary: number; workers: number[] } {
  if (!n.pid) return { primary: NaN, workers: [] };
  return { primary: cpuMs(n.pid), workers: childPids(n.pid).map(cpuMs) };
}

async function main(): Promise<void> {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-hybrid-'));
  fs.chmodSync(tmp, 0o777);
  // Every node notes when each change passed each stage on its path (src/sync/trace.ts).
  TRACE_DIR = path.join(tmp, 'trace');
  fs.mkdirSync(TRACE_DIR);
  process.env.GOSSAMER_TRACE_CHANGES = TRACE_DIR;
  say(`bench:hybrid${QUICK ? ' --quick' : ''}: 1 control plane + ${DPS} data planes, real processes, embedded Postgres (${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`);
  pgServer = await startEmbeddedPostgres({ dir: path.join(tmp, 'pg') });
  await pgServer.createDatabase('gossamer');
  const dbConf = path.join(tmp, 'db.conf');
  fs.writeFileSync(dbConf, `pg_host = 127.0.0.1\npg_port = ${pgServer.port}\npg_user = ${pgServer.user}\npg_password = ${pgServer.password}\npg_database = gossamer\n`);
  await run(process.execPath, [BIN, 'migrations', 'bootstrap', '-c', dbConf]);
  await run(process.execPath, [BIN, 'cluster', 'gen-cert', '--out', path.join(tmp, 'certs')]);
  echo = await startUpstreamProcess(await freePort());

  const cpCluster = await freePort();
  const cp = await makeNode('cp', 'control_plane', cpCluster);
  const dps: SimNode[] = [];
  for (let i = 1; i <= (ONLY === 'restart' ? 1 : DPS); i++) dps.push(await makeNode(`dp${i}`, 'data_plane', cpCluster));
  if (ONLY === 'restart') return onlyRestart(cp, dps[0]!);
  // `--only changes --cpu-prof DIR`: the control plane and dp1 (primary and worker) write V8 CPU profiles there.
  if (CPU_PROF && ONLY === 'changes') for (const n of [cp, dps[0]!]) (n as unknown as { opts: { wrap?: string[] } }).opts.wrap = ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir=${CPU_PROF} "$@"`];
  await cp.start();
  await Promise.all(dps.map((d) => d.start()));
  await admin(cp, 'POST', '/services', { name: 'echo', url: echo.url });
  await admin(cp, 'POST', '/services/echo/routes', { name: 'warm', paths: ['/warm'] });
  if (!Number.isFinite(await servedBy(dps, '/warm', performance.now(), 30_000))) throw new Error('data planes never served /warm');
  if (SETTLE_MS) await sleep(SETTLE_MS);

  // 1. Propagation of single changes. The first changes after the nodes start run every part
  // of the path for the first time (V8 compiles it, libp2p streams and buffers warm up): they
  // are timed and shown apart, then CHANGES more are measured, as in any steady-state figure.
  const cold = (await timeChanges(cp, dps, 'w', WARMUP)).map((p) => Math.max(...p));
  // The nodes' CPU while nothing changes (membership probes, heartbeats): subtracted below.
  const idle0 = [cp, ...dps].map(treeCpu);
  const tIdle = performance.now();
  await sleep(IDLE_MS);
  const idle = { before: idle0, after: [cp, ...dps].map(treeCpu), ms: performance.now() - tIdle };
  const polls0 = { ...polls };
  const cpu0 = [cp, ...dps].map(treeCpu);
  const benchCpu0 = process.cpuUsage();
  const tChanges = performance.now();
  const smallSeen: ChangeSeen[] = [];
  const smallPer = await timeChanges(cp, dps, 'c', CHANGES, smallSeen);
  const pollMs = (polls.ms - polls0.ms) / (polls.n - polls0.n);
  const cpuPer = cpuPerChange({ before: cpu0, after: [cp, ...dps].map(treeCpu), ms: performance.now() - tChanges }, idle, process.cpuUsage(benchCpu0), CHANGES);
  const small = smallPer.map((p) => Math.max(...p));
  const how = await Promise.all(dps.map(async (d) => ((await admin(d, 'GET', '/status')) as DpStatus).hybrid.stats));
  const lost = small.filter((v) => !Number.isFinite(v)).length;
  const okSmall = small.filter(Number.isFinite);
  say('');
  say(`1. change on the control plane → served by all ${DPS} data planes (${CHANGES} route creations, timed from the Admin API's 201)`);
  say(`   gossamer            p50 ${ms(pct(okSmall, 50))}  p99 ${ms(pct(okSmall, 99))}  max ${ms(Math.max(...okSmall))}${lost ? `  NOT SERVED: ${lost}` : ''}   (targets: p50 ≤ 30 ms, p99 ≤ 200 ms)`);
  const sum = (k: keyof DpStatus['hybrid']['stats']) => how.reduce((a, st) => a + st[k], 0);
  say(`   the ${WARMUP} changes before (first after start, cold code paths): p50 ${ms(pct(cold, 50))}  max ${ms(Math.max(...cold))}`);
  say(`   slowest changes: ${slowest(smallPer, dps)}`);
  say(`   the bench polls all ${DPS} data planes at once, each every ${POLL_PAUSE_MS} ms + a request's time: one request took ${ms(pollMs)} on average (${((polls.n - polls0.n) / CHANGES / DPS).toFixed(1)} per data plane per change)`);
  say(`   CPU per change, beyond the nodes' idle rate (the ${DPS} data planes' polls included): ${cpuPer}`);
  say(await stages(cp, dps, smallSeen));
  say(`   delivery on the ${DPS} data planes: ${sum('pushedEvents')} events pushed, ${sum('eventFetches')} repairs by asking, ${sum('snapshots') - DPS} snapshots beyond the first`);
  say(`   Kong 3 hybrid       CP pushes a full config export per change, CP nodes learn changes by polling`);
  say(`                       cluster_events every db_update_frequency = 5 s: up to ~5,000 ms (not measured here)`);
  if (ONLY === 'changes') return;

  // 2. A 10,000-route / 10,000-consumer configuration.
  await Promise.all(dps.map((d) => d.stop()));
  await cp.stop();
  const t0i = performance.now();
  await bulkInsert();
  say('');
  say(`2. ${BIG.toLocaleString()} routes + ${BIG.toLocaleString()} consumers (inserted in Postgres in ${ms(performance.now() - t0i)})`);
  const tcp = performance.now();
  await cp.start();
  say(`   control plane start (loads the configuration from Postgres): ${ms(performance.now() - tcp)}`);
  // First data plane alone: its fetch includes the control plane building the snapshot.
  const first = dps[0]!;
  const tdp = performance.now();
  await first.start();
  const firstServe = await servedBy([first], `/big-${BIG}`, tdp, 60_000);
  const s1 = (await admin(first, 'GET', '/status')) as DpStatus;
  const ls = s1.hybrid.last_snapshot!;
  say(`   data plane ${first.name}: snapshot ${(ls.bytes / 1024 / 1024).toFixed(2)} MiB compressed; build+transfer ${ms(ls.fetch_ms)}, decode ${ms(ls.decode_ms)}, apply ${ms(ls.apply_ms)} → total ${ms(ls.total_ms)} (target < 3,000 ms)`);
  say(`   ${first.name} process start → serving /big-${BIG}: ${ms(firstServe)}; RSS primary ${s1.memory.rss}, with proxy workers ${await treeRss(first)}`);
  const tRest = performance.now();
  await Promise.all(dps.slice(1).map((d) => d.start()));
  const rest = await Promise.all(dps.slice(1).map(async (d) => ({ d, serve: await servedBy([d], `/big-${BIG}`, tRest, 60_000), st: (await admin(d, 'GET', '/status')) as DpStatus })));
  const totals = rest.map((r) => r.st.hybrid.last_snapshot?.total_ms ?? NaN);
  say(`   ${rest.length} more data planes started together (snapshot reused, built once): sync total p50 ${ms(pct(totals, 50))} max ${ms(Math.max(...totals))}; RSS ${rest.map((r) => r.st.memory.rss).join(', ')}`);
  const snapsBefore = await Promise.all(dps.map(async (d) => ((await admin(d, 'GET', '/status')) as DpStatus).hybrid.stats.snapshots));
  const bigCold = (await timeChanges(cp, dps, 'bw', WARMUP)).map((p) => Math.max(...p));
  const bigSeen: ChangeSeen[] = [];
  const bigPer = await timeChanges(cp, dps, 'b', BIG_CHANGES, bigSeen);
  const big = bigPer.map((p) => Math.max(...p));
  const snapsAfter = await Promise.all(dps.map(async (d) => ((await admin(d, 'GET', '/status')) as DpStatus).hybrid.stats.snapshots));
  const extra = snapsAfter.reduce((a, v, i) => a + v - snapsBefore[i]!, 0);
  const okBig = big.filter(Number.isFinite);
  say(`   incremental change at this size, served by all ${DPS}: p50 ${ms(pct(okBig, 50))}  p99 ${ms(pct(okBig, 99))}  (${BIG_CHANGES} changes; full snapshots fetched meanwhile: ${extra})`);
  say(`   the ${WARMUP} changes before (first after the data planes started): p50 ${ms(pct(bigCold, 50))}  max ${ms(Math.max(...bigCold))}`);
  say(`   slowest changes: ${slowest(bigPer, dps)}`);
  say(await stages(cp, dps, bigSeen));

  // 3. Control plane killed under traffic.
  let requests = 0;
  let failures = 0;
  const failSamples: string[] = [];
  let stop = false;
  const loops = dps.flatMap((d) =>
    Array.from({ length: 2 }, async () => {
      while (!stop) {
        const code = await status(d, `/big-${1 + Math.floor(Math.random() * BIG)}`);
        requests++;
        if (code !== 200) {
          failures++;
          if (failSamples.length < 5) failSamples.push(`${d.name}: ${code}`);
        }
      }
    }),
  );
  await sleep(2000);
  await cp.kill();
  const killedAt = performance.now();
  await sleep(WINDOW_MS - 2000);
  stop = true;
  await Promise.all(loops);
  say('');
  say(`3. control plane SIGKILLed 2 s into ${WINDOW_MS / 1000} s of traffic on all ${DPS} data planes: ${requests} requests, ${failures} failed${failSamples.length ? ` (${failSamples.join(', ')})` : ''} (target: 0)`);

  // 4. A data plane restarted while the control plane is down.
  await restartFromCache(dps[1]!, `SIGKILLed and restarted ${((performance.now() - killedAt) / 1000).toFixed(0)} s into the outage`);
}

async function restartFromCache(victim: SimNode, when: string): Promise<void> {
  await victim.kill();
  // Node 20 refuses --cpu-prof in NODE_OPTIONS: a shell puts it after the node binary instead.
  if (CPU_PROF) (victim as unknown as { opts: { wrap?: string[] } }).opts.wrap = ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir=${CPU_PROF} "$@"`];
  const tr = performance.now();
  const starting = victim.start();
  const serveMs = await servedBy([victim], `/big-${BIG}`, tr, 120_000);
  const cpu = treeCpu(victim);
  await starting;
  const vs = (await admin(victim, 'GET', '/status')) as DpStatus & { hybrid: { cache_load_ms: number; serving_since_process_start_ms: number } };
  say(`4. ${victim.name} ${when}: spawn → first 200 from its level cache in ${ms(serveMs)} (target < 2,000 ms)`);
  say(`   inside the process: the primary heard its proxy listening ${ms(vs.hybrid.serving_since_process_start_ms)} after process start, late by what it was busy with (reading + verifying + loading the cache took ${ms(vs.hybrid.cache_load_ms)}, while the workers booted and served the checksummed snapshot): the spawn → first 200 above is the figure`);
  say(`   CPU used until that first 200 (not inflated by other load): primary ${ms(cpu.primary)}, proxy worker${cpu.workers.length === 1 ? '' : 's'} ${cpu.workers.map(ms).join(', ')}; the two run side by side from the fork on`);
}

/** Part 4 alone: a 10k-route configuration synced to one data plane, then restarts with the control plane down. */
async function onlyRestart(cp: SimNode, dp: SimNode): Promise<void> {
  await bulkInsert();
  await cp.start();
  await dp.start();
  if (!Number.isFinite(await servedBy([dp], `/big-${BIG}`, performance.now(), 60_000))) throw new Error(`${dp.name} never served /big-${BIG}`);
  await sleep(3000); // let the data plane write its level cache
  await cp.kill();
  for (let i = 1; i <= RESTARTS; i++) {
    for (const mode of AB ? ['tsx', 'bundle'] : [null]) {
      if (mode === 'tsx') process.env.GOSSAMER_NO_BUNDLE = '1';
      else delete process.env.GOSSAMER_NO_BUNDLE;
      await restartFromCache(dp, `restart ${i}/${RESTARTS}${mode ? ` (${mode})` : ''} with the control plane down`);
    }
  }
}

/**
 * The upstream every route points at, in a process of its own: a change counts as served when
 * a data plane answers 200, which goes through the upstream, and inside the bench that answer
 * waited for the bench's own event loop (busy polling five data planes) twice per request.
 */
async function startUpstreamProcess(port: number): Promise<EchoServer> {
  const code = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 }); s.end('{"ok":true}'); }); }).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`the upstream process exited (code ${c}) before listening on ${port}`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill();
      await exited;
    },
  };
}

async function cleanup(): Promise<void> {
  for (const c of pollClients.values()) c.destroy().catch(() => {});
  await Promise.all(nodes.map((n) => n.stop(5000).catch(() => {})));
  for (const n of nodes) n.reap();
  await echo?.close().catch(() => {});
  await pgServer?.stop().catch(() => {});
  if (KEEP) say(`kept ${tmp}`);
  else if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

main()
  .then(cleanup, async (err) => {
    process.stderr.write(`bench:hybrid failed: ${(err as Error).stack ?? err}\n`);
    for (const n of nodes) {
      try {
        process.stderr.write(`--- ${n.name} (${n.logFile})\n${fs.readFileSync(n.logFile, 'utf8').split('\n').slice(-15).join('\n')}\n`);
      } catch {
        /* no log */
      }
    }
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => process.exit());
