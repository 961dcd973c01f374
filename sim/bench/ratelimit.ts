// `npm run bench:ratelimit [-- --nodes 3,5] [--quick] [--out FILE]`: how well a rate limit holds
// across real node processes, requests spread over the nodes round-robin (as a load balancer
// does; the generator takes the nodes in turn itself, so a balancer's health checks cannot
// shift the spread), for Kong's three policies side by side in the same run. For each cluster size: a 10-per-second and a 100-per-minute limit (the minute one
// is skipped with --quick), each on three routes (local, cluster, redis against a real Redis),
// open-loop load at 5 x the limit on all three at once; requests let through per complete window
// as a ratio to the limit. Then the CPU cost per request of `cluster` against `local` (same
// route shape, a limit never reached, the same open-loop rate, alternated twice).
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimCluster } from '../harness/cluster.ts';
import { adminCall } from '../harness/admin-call.ts';
import { startRedis, type TestRedis } from '../harness/redis.ts';
import { cpuOfAll, descendants } from './proc.ts';
import { openLoop, perWindow } from './ratelimit-load.ts';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const QUICK = args.includes('--quick');
const SIZES = (arg('--nodes') ?? '3,5').split(',').map(Number);
const OUT = arg('--out');
const POLICIES = ['local', 'cluster', 'redis'] as const;
type Policy = (typeof POLICIES)[number];
const LOAD_FACTOR = 5;
const CPU_RATE = 500;
const CPU_MS = QUICK ? 5000 : 8000;

interface LimitSpec {
  name: string;
  period: 'second' | 'minute';
  limit: number;
  windowMs: number;
}
const SPECS: LimitSpec[] = [
  { name: '10/s', period: 'second', limit: 10, windowMs: 1000 },
  ...(QUICK ? [] : [{ name: '100/min', period: 'minute' as const, limit: 100, windowMs: 60_000 }]),
];

interface Row {
  nodes: number;
  limit: string;
  policy: Policy;
  windows: number;
  maxRatio: number;
  meanRatio: number;
  errors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => console.error(`[bench:ratelimit] ${s}`);

async function addLimitedRoute(c: SimCluster, name: string, plugin: Record<string, unknown>): Promise<void> {
  const first = c.nodes[0]!;
  await adminCall(first, 'POST', '/services/up/routes', { name, paths: [`/${name}`] });
  await adminCall(first, 'POST', `/routes/${name}/plugins`, { name: 'rate-limiting', config: plugin });
}

/** Every node holds the same configuration (config_hash in /cluster/members). */
async function converged(c: SimCluster): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const m = (await adminCall(c.nodes[0]!, 'GET', '/cluster/members')) as { data: { config_hash: string | null; status: string }[] };
    const hashes = new Set(m.data.filter((x) => x.status === 'alive').map((x) => x.config_hash));
    if (hashes.size === 1 && m.data.filter((x) => x.status === 'alive').length === c.nodes.length) return;
    await sleep(200);
  }
  throw new Error('the nodes did not converge on one configuration within 30 s');
}

function policyConfig(policy: Policy, redis: TestRedis): Record<string, unknown> {
  return { policy, ...(policy === 'redis' ? { redis: { host: '127.0.0.1', port: redis.port } } : {}) };
}

async function measureLimits(c: SimCluster, redis: TestRedis, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const nodes = c.nodes.map((x) => x.proxyUrl);
  for (const spec of SPECS) {
    const routes = POLICIES.map((p) => `rl-${spec.period}-${p}`);
    for (const p of POLICIES) await addLimitedRoute(c, `rl-${spec.period}-${p}`, { [spec.period]: spec.limit, ...policyConfig(p, redis) });
    await converged(c);
    const rate = (spec.limit * LOAD_FACTOR * 1000) / spec.windowMs;
    // Long enough for complete windows: 10 one-second windows, or one whole minute.
    let runMs = QUICK ? 7000 : 12_000;
    if (spec.period === 'minute') {
      // Start a second before a minute begins and run past its end: one whole window.
      await sleep((60_000 - (Date.now() % 60_000) - 1000 + 60_000) % 60_000);
      runMs = 62_500;
    }
    log(`${n} nodes, ${spec.name}: ${rate.toFixed(1)} req/s on each policy's route for ${runMs / 1000} s`);
    const results = await Promise.all(routes.map((r) => openLoop(nodes.map((n) => `${n}/${r}`), rate, runMs, spec.windowMs)));
    POLICIES.forEach((policy, i) => {
      const w = perWindow(results[i]!, spec.windowMs);
      const ratios = w.admitted.map((a) => a / spec.limit);
      rows.push({
        nodes: n,
        limit: spec.name,
        policy,
        windows: ratios.length,
        maxRatio: ratios.length ? Math.max(...ratios) : NaN,
        meanRatio: ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : NaN,
        errors: w.errors,
      });
    });
  }
  return rows;
}

/** CPU seconds of every node process and its workers. */
function clusterCpu(c: SimCluster): number {
  return cpuOfAll(c.nodes.flatMap((node) => (node.pid ? descendants(node.pid) : [])));
}

async function measureCpu(c: SimCluster, redis: TestRedis): Promise<Record<string, number>> {
  for (const p of ['local', 'cluster'] as const) await addLimitedRoute(c, `cpu-${p}`, { minute: 1_000_000_000, ...policyConfig(p, redis) });
  await converged(c);
  const nodes = c.nodes.map((x) => x.proxyUrl);
  // What the nodes spend with no load (membership, checks): subtracted from each phase, so the
  // figure is the cost of the requests themselves.
  const idleStart = clusterCpu(c);
  await sleep(4000);
  const idlePerMs = (clusterCpu(c) - idleStart) / 4000;
  const perRequestMs: Record<string, number[]> = { local: [], cluster: [] };
  for (const p of ['local', 'cluster', 'cluster', 'local'] as const) {
    const before = clusterCpu(c);
    const t0 = performance.now();
    const shots = await openLoop(nodes.map((n) => `${n}/cpu-${p}`), CPU_RATE, CPU_MS);
    const spent = clusterCpu(c) - before - idlePerMs * (performance.now() - t0);
    const ok = shots.filter((s) => s.status === 200).length;
    perRequestMs[p]!.push((spent * 1000) / Math.max(1, ok));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { local: mean(perRequestMs['local']!), cluster: mean(perRequestMs['cluster']!) };
}

async function runSize(n: number): Promise<{ rows: Row[]; cpu: Record<string, number> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-bench-rl-${n}-`));
  const redis = await startRedis();
  let c: SimCluster | undefined;
  try {
    log(`starting ${n} nodes`);
    c = await SimCluster.start({ nodes: n, dir, log });
    await adminCall(c.nodes[0]!, 'POST', '/services', { name: 'up', url: `http://127.0.0.1:${c.upstream.port}` });
    const rows = await measureLimits(c, redis, n);
    const cpu = await measureCpu(c, redis);
    return { rows, cpu };
  } finally {
    await c?.stop().catch(() => {});
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function goal(row: Row): string {
  if (row.policy === 'local') return `(per node: up to ${row.nodes} x)`;
  const max = row.policy === 'redis' ? 1.01 : row.nodes <= 3 ? 1.05 : 1.1;
  return `goal <= ${max.toFixed(2)}: ${row.maxRatio <= max ? 'met' : 'NOT met'}`;
}

async function main(): Promise<void> {
  const all: { rows: Row[]; cpu: Record<string, number>; nodes: number }[] = [];
  for (const n of SIZES) all.push({ nodes: n, ...(await runSize(n)) });
  console.log(`\nbench:ratelimit  load ${LOAD_FACTOR} x the limit, open loop, round-robin over the nodes; loadavg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('nodes | limit   | policy  | windows | let through / limit: max | mean | errors |');
  for (const { rows } of all) {
    for (const r of rows) {
      console.log(`${String(r.nodes).padStart(5)} | ${r.limit.padEnd(7)} | ${r.policy.padEnd(7)} | ${String(r.windows).padStart(7)} | ${r.maxRatio.toFixed(3).padStart(24)} | ${r.meanRatio.toFixed(3)} | ${String(r.errors).padStart(6)} | ${goal(r)}`);
    }
  }
  for (const { nodes, cpu } of all) {
    const ratio = cpu['cluster']! / cpu['local']!;
    console.log(`${nodes} nodes: CPU per request (all node processes) local ${cpu['local']!.toFixed(3)} ms, cluster ${cpu['cluster']!.toFixed(3)} ms: cluster / local = ${ratio.toFixed(2)} (goal <= 1.15: ${ratio <= 1.15 ? 'met' : 'NOT met'})`);
  }
  if (OUT) fs.writeFileSync(OUT, JSON.stringify(all, null, 2));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
