// `npm run bench:propagation [-- --quick]`: how long an Admin API write takes to be served by
// every node's proxy. 5 real node processes on one embedded Postgres; writes (create route,
// update service, delete route, add a key-auth credential) go to random nodes; each is timed
// from the Admin API's 2xx to the moment all 5 proxies serve the new state (polled through
// the proxies). Run twice, side by side: gossip on, and gossip off with db_update_frequency = 5
// (the same code in Kong's mode). Then: every node's config_hash against a fresh build from
// Postgres, and one node partitioned for 10 s then healed (catch-up time).
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimCluster } from '../harness/cluster.ts';
import type { SimNode } from '../harness/node-process.ts';
import { createPool } from '../../src/db/pool.ts';
import { loadSnapshot } from '../../src/db/snapshot.ts';
import { configHash } from '../../src/cache/config-hash.ts';
import { adminCall as admin } from '../harness/admin-call.ts';
import { prng } from '../prng.ts';
import { pct } from './stats.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const KEEP = args.includes('--keep');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const NODES = 5;
const WRITES = QUICK ? 40 : 200;
const UPDATE_SERVICES = 10;
const CHECK_TIMEOUT_MS = 20_000;
const KINDS = ['create route', 'update service', 'delete route', 'add credential'] as const;
type Kind = (typeof KINDS)[number];

interface Sample {
  kind: Kind;
  node: string;
  ms: number;
  ok: boolean;
}

interface ModeResult {
  mode: string;
  samples: Sample[];
  wallMs: number;
  hashes: { node: string; version: number; hash: string | null }[];
  fresh: string;
  partition?: { p50: number; p99: number; n: number; catchUpMs: number; ok: boolean };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Check = (node: SimNode) => Promise<boolean>;

async function proxyGet(node: SimNode, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`${node.proxyUrl}${p}`, { headers, signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

const serves = (p: string): Check => async (n) => (await proxyGet(n, p)).status === 200;
const gone = (p: string): Check => async (n) => (await proxyGet(n, p)).status === 404;
const keyWorks = (key: string): Check => async (n) => (await proxyGet(n, '/auth', { apikey: key })).status === 200;
const upstreamPath = (route: string, expected: string): Check => async (n) => {
  const r = await proxyGet(n, route);
  if (r.status !== 200) return false;
  try {
    return (JSON.parse(r.body) as { path?: string }).path === expected;
  } catch {
    return false;
  }
};

/** ms from t0 until `check` holds on every node (each node probed back to back, every `everyMs`). */
async function waitAll(nodes: SimNode[], check: Check, t0: number, everyMs: number): Promise<{ ms: number; ok: boolean }> {
  const deadline = t0 + CHECK_TIMEOUT_MS;
  const per = await Promise.all(
    nodes.map(async (n) => {
      for (;;) {
        if (await check(n)) return performance.now() - t0;
        if (performance.now() > deadline) return Infinity;
        if (everyMs > 0) await sleep(everyMs);
      }
    }),
  );
  const ms = Math.max(...per);
  return { ms: Number.isFinite(ms) ? ms : CHECK_TIMEOUT_MS, ok: Number.isFinite(ms) };
}


async function setup(c: SimCluster): Promise<void> {
  const n1 = c.nodes[0]!;
  const url = `http://127.0.0.1:${c.upstream.port}`;
  await admin(n1, 'POST', '/services', { name: 's-route', url });
  for (let j = 0; j < UPDATE_SERVICES; j++) {
    await admin(n1, 'POST', '/services', { name: `s-upd-${j}`, url: `${url}/v-init` });
    await admin(n1, 'POST', `/services/s-upd-${j}/routes`, { name: `upd-${j}`, paths: [`/upd-${j}`] });
  }
  // The routes the 'delete route' writes remove, made up front so writes in flight never wait on each other.
  for (let i = 0; i < WRITES; i++) if (KINDS[i % KINDS.length] === 'delete route') await admin(n1, 'POST', '/services/s-route/routes', { name: `d${i}`, paths: [`/d${i}`] });
  await admin(n1, 'POST', '/services/s-route/routes', { name: 'auth', paths: ['/auth'] });
  await admin(n1, 'POST', '/routes/auth/plugins', { name: 'key-auth' });
  await admin(n1, 'POST', '/consumers', { username: 'bench' });
  const ready = await waitAll(c.nodes, async (n) => (await proxyGet(n, `/upd-${UPDATE_SERVICES - 1}`)).status === 200 && (await proxyGet(n, '/auth')).status === 401, performance.now(), 50);
  if (!ready.ok) throw new Error('the set-up configuration did not reach every proxy');
}

/** One write of the given kind on `node`; returns what to wait for. */
async function write(node: SimNode, kind: Kind, i: number): Promise<Check> {
  switch (kind) {
    case 'create route':
      await admin(node, 'POST', '/services/s-route/routes', { name: `r${i}`, paths: [`/r${i}`] });
      return serves(`/r${i}`);
    case 'update service': {
      const j = Math.floor(i / KINDS.length) % UPDATE_SERVICES;
      await admin(node, 'PATCH', `/services/s-upd-${j}`, { path: `/v${i}` });
      return upstreamPath(`/upd-${j}`, `/v${i}`);
    }
    case 'delete route':
      await admin(node, 'DELETE', `/routes/d${i}`);
      return gone(`/d${i}`);
    case 'add credential':
      await admin(node, 'POST', '/consumers/bench/key-auth', { key: `k${i}` });
      return keyWorks(`k${i}`);
  }
}

async function nodeHashes(c: SimCluster): Promise<{ node: string; version: number; hash: string | null }[]> {
  return Promise.all(
    c.nodes.map(async (n) => {
      const body = await admin(n, 'GET', '/cluster/members');
      const self = (body.data as { self: boolean; config_version: number; config_hash: string | null }[]).find((m) => m.self);
      return { node: n.name, version: self?.config_version ?? -1, hash: self?.config_hash ?? null };
    }),
  );
}

async function startCluster(mode: string, log: (s: string) => void): Promise<{ c: SimCluster; dir: string }> {
  // On a busy shared machine a start can fail (a port taken between freePort and listen, a
  // slow /status); one retry with fresh ports.
  for (let attempt = 1; ; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-bench-prop-${mode}-`));
    try {
      const c = await SimCluster.start({
        nodes: NODES,
        dir,
        config: { cluster_gossip_events: mode === 'gossip', db_update_frequency: 5, log_level: 'warn' },
        log: (l) => log(`  [${mode}] ${l}`),
      });
      return { c, dir };
    } catch (err) {
      if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
      if (attempt >= 2) throw err;
      log(`  [${mode}] cluster start failed (${(err as Error).message.split('\n')[0]}); retrying once`);
    }
  }
}

async function runMode(mode: 'gossip' | 'poll', log: (s: string) => void): Promise<ModeResult> {
  const { c, dir } = await startCluster(mode, log);
  try {
    if (!(await c.waitFormed())) throw new Error('the cluster did not form');
    await setup(c);
    // Seeded so two runs pick the same nodes.
    const rnd = prng(42).next;
    const samples: Sample[] = [];
    const started = performance.now();
    // Gossip: one write at a time, measured clean. Poll: up to 10 in flight, or 200 writes at
    // ~2.5 s each would take ten minutes; each write has its own route/key/service to watch.
    const inFlight = mode === 'gossip' ? 1 : 10;
    // Probing back to back would load the very proxies being measured; 2 ms is the resolution.
    const everyMs = mode === 'gossip' ? 2 : 100;
    let next = 0;
    const worker = async () => {
      while (next < WRITES) {
        const i = next++;
        const kind = KINDS[i % KINDS.length]!;
        const node = c.nodes[Math.floor(rnd() * NODES)]!;
        const check = await write(node, kind, i);
        const t0 = performance.now();
        const r = await waitAll(c.nodes, check, t0, everyMs);
        samples.push({ kind, node: node.name, ms: r.ms, ok: r.ok });
        if (samples.length % 20 === 0) log(`  [${mode}] ${samples.length}/${WRITES} writes, last ${r.ms.toFixed(1)} ms`);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const wallMs = performance.now() - started;

    let partition: ModeResult['partition'];
    if (mode === 'gossip') partition = await partitionRun(c, log);

    // Zero writes lost: every node's announced hash equals a fresh build from Postgres.
    const pool = createPool({ pg_host: '127.0.0.1', pg_port: c.pgPort, pg_user: c.pg.user, pg_password: c.pg.password, pg_database: 'gossamer' });
    const fresh = configHash(await loadSnapshot(pool));
    await pool.end();
    let hashes = await nodeHashes(c);
    for (let k = 0; k < 50 && !hashes.every((h) => h.hash === fresh); k++) {
      await sleep(200);
      hashes = await nodeHashes(c);
    }
    return { mode, samples, wallMs, hashes, fresh, partition };
  } finally {
    const left = await c.stop();
    if (left.length) log(`  [${mode}] still listening after stop: ${left.join(', ')}`);
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`  [${mode}] kept ${dir}`);
  }
}

/** n5 cut off from the others for 10 s while writes go on, then healed: how fast does it catch up? */
async function partitionRun(c: SimCluster, log: (s: string) => void): Promise<NonNullable<ModeResult['partition']>> {
  const majority = c.nodes.slice(0, NODES - 1);
  const lone = c.nodes[NODES - 1]!;
  const problems = await c.partition([majority.map((n) => n.name), [lone.name]]);
  if (problems.length) log(`  [partition] ${problems.join('; ')}`);
  const t0 = performance.now();
  const ms: number[] = [];
  const routes: string[] = [];
  let i = 0;
  // Writes on the majority side for the whole 10 s, the last one just before the heal.
  while (performance.now() - t0 < 10_000) {
    const node = majority[i % majority.length]!;
    const name = `p${i++}`;
    await admin(node, 'POST', '/services/s-route/routes', { name, paths: [`/${name}`] });
    routes.push(name);
    const w0 = performance.now();
    const r = await waitAll(majority, serves(`/${name}`), w0, 0);
    ms.push(r.ms);
    await sleep(400);
  }
  const healed = performance.now();
  await c.heal();
  const catchUp = await waitAll(
    [lone],
    async (n) => {
      for (const r of routes) if ((await proxyGet(n, `/${r}`)).status !== 200) return false;
      return true;
    },
    healed,
    10,
  );
  log(`  [partition] ${routes.length} writes while ${lone.name} was cut off; caught up ${catchUp.ms.toFixed(0)} ms after the heal`);
  return { p50: pct(ms, 50), p99: pct(ms, 99), n: ms.length, catchUpMs: catchUp.ms, ok: catchUp.ok };
}

function summary(r: ModeResult) {
  const ok = r.samples.filter((s) => s.ok).map((s) => s.ms);
  return {
    n: r.samples.length,
    failed: r.samples.filter((s) => !s.ok).length,
    p50: pct(ok, 50),
    p90: pct(ok, 90),
    p99: pct(ok, 99),
    max: Math.max(...ok),
    byKind: Object.fromEntries(KINDS.map((k) => [k, pct(r.samples.filter((s) => s.kind === k && s.ok).map((s) => s.ms), 50)])),
  };
}

function emptyResult(mode: string): ModeResult {
  return { mode, samples: [], wallMs: 0, hashes: [], fresh: '' };
}

const f = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '-');

function printMode(r: ModeResult): void {
  const m = summary(r);
  console.log(
    `  [${r.mode}] done: ${m.n} writes (${m.failed} timed out), p50 ${f(m.p50)} ms, p90 ${f(m.p90)} ms, p99 ${f(m.p99)} ms, max ${f(m.max)} ms, ` +
      `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
}

async function main() {
  const log = (s: string) => console.log(s);
  console.log(
    `bench:propagation — ${NODES} nodes, ${WRITES} writes per mode${QUICK ? ' (--quick)' : ''}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  const gossip = ONLY === 'poll' ? emptyResult('gossip') : await runMode('gossip', log);
  if (ONLY !== 'poll') printMode(gossip);
  const poll = ONLY === 'gossip' ? emptyResult('poll') : await runMode('poll', log);
  if (ONLY !== 'gossip') printMode(poll);
  const g = summary(gossip);
  const p = summary(poll);
  const row = (label: string, a: string, b: string) => console.log(`${label.padEnd(30)}${a.padStart(14)}${b.padStart(22)}`);
  console.log('');
  console.log('propagation: Admin API 2xx → every node\'s proxy serves it (ms)');
  row('', 'gossip on', 'gossip off (poll 5 s)');
  row('writes (timed out)', `${g.n} (${g.failed})`, `${p.n} (${p.failed})`);
  row('p50', f(g.p50), f(p.p50));
  row('p90', f(g.p90), f(p.p90));
  row('p99', f(g.p99), f(p.p99));
  row('max', f(g.max), f(p.max));
  for (const k of KINDS) row(`p50 ${k}`, f(g.byKind[k]!), f(p.byKind[k]!));
  row('wall time (s)', (gossip.wallMs / 1000).toFixed(1), (poll.wallMs / 1000).toFixed(1));
  const ratio = p.p50 / g.p50;
  console.log(`ratio p50 poll/gossip: ${ratio.toFixed(0)}x (target >= 50x)`);
  console.log(`gossip targets: p50 ${f(g.p50)} ms (<= 20) ${g.p50 <= 20 ? 'OK' : 'MISSED'}, p99 ${f(g.p99)} ms (<= 150) ${g.p99 <= 150 ? 'OK' : 'MISSED'}`);
  for (const r of [gossip, poll]) {
    const same = r.hashes.every((h) => h.hash === r.fresh);
    console.log(`${r.mode}: config_hash of every node ${same ? '==' : '!='} fresh build from Postgres (${r.fresh}) ${same ? 'OK' : 'MISMATCH'}`);
    if (!same) for (const h of r.hashes) console.log(`  ${h.node}: config_version ${h.version} config_hash ${h.hash}`);
  }
  if (gossip.partition) {
    const pr = gossip.partition;
    console.log(
      `partition (1 of ${NODES} cut off 10 s, ${pr.n} writes): propagation to the other ${NODES - 1} p50 ${f(pr.p50)} ms p99 ${f(pr.p99)} ms; ` +
        `catch-up after heal ${f(pr.catchUpMs)} ms (target <= 1000) ${pr.ok && pr.catchUpMs <= 1000 ? 'OK' : 'MISSED'}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
