// `npm run bench:scale [-- --sizes 10,25,50 --zones 3 --cross-ms 20 --jitter-ms 5 --loss 0.01
//   --trials 5 --route-trials 10 --route-warmup 3 --steady 600 --idle-window 20 --start-batch 8 --hybrid --loopback --keep
//   --set key=value,...]`: the cluster at the sizes it is
// run at (issue #17). Per size N, real `gossamer start` processes (worker_processes = 1) on one
// Postgres, in network namespaces grouped in zones with latency and loss between them
// (`--net zones`, sim/harness/zones.ts), and a table of:
//   - time from the last node's start until every node sees N alive;
//   - SIGKILL / SIGSTOP of one node → failed on every survivor (p50 / p99 over --trials);
//   - a route change → served by every node's proxy (p50 / p99 over --route-trials), DB mode,
//     and with --hybrid for a control plane and N − 1 data planes (on plain loopback: the
//     namespace harness runs DB mode only);
//   - false failures (`failed` marks without a fault) over --steady seconds at the given loss,
//     then at 0 %;
// each next to memberlist's documented suspicion timeout at that size and Kong's 5 s poll.
// Without root or network namespaces (or with --loopback) it runs on plain loopback and says so.
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimCluster } from '../harness/cluster.ts';
import { netnsUnavailable } from '../harness/netns.ts';
import { trackCleanup } from '../harness/reaper.ts';
import type { SimNode } from '../harness/node-process.ts';
import { DEFAULT_ZONES, type ZoneOptions } from '../harness/zones.ts';
import { idleSummary, measureIdle } from './idle-figures.ts';
import { detectionTrial, quietRouteTrial, routeTrial, steadyWindow, tracedRouteTrials, waitConverged, warmProbes, type Trial } from './scale-measure.ts';
import { sizeTable, summaryTable, type SizeResult } from './scale-report.ts';
import { describeViews } from './member-events.ts';
import { parseSetOption } from './extra-config.ts';

const args = process.argv.slice(2);
const has = (name: string) => args.includes(name);
function num(name: string, def: number): number {
  if (!has(name)) return def;
  const v = Number(args[args.indexOf(name) + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a non-negative number, got ${JSON.stringify(args[args.indexOf(name) + 1])}`);
  return v;
}
const SIZES = has('--sizes') ? args[args.indexOf('--sizes') + 1]!.split(',').map(Number) : [10, 25, 50];
const ZONES: ZoneOptions = {
  zones: num('--zones', DEFAULT_ZONES.zones),
  inMs: num('--in-ms', DEFAULT_ZONES.inMs),
  crossMs: num('--cross-ms', DEFAULT_ZONES.crossMs),
  jitterMs: num('--jitter-ms', DEFAULT_ZONES.jitterMs),
  loss: num('--loss', 0.01),
};
const TRIALS = num('--trials', 5);
/** `--set key=value,...`: extra config for every node. */
const EXTRA = parseSetOption(has('--set') ? args[args.indexOf('--set') + 1] : undefined);
const ROUTE_TRIALS = num('--route-trials', 10);
/**
 * Route changes made and printed before the counted ones: the first changes after the nodes
 * started run the sync, cache and router-rebuild paths cold (V8 has not compiled them yet), in
 * every node at once. A cluster that has been up a while does not pay that again.
 */
const ROUTE_WARMUP = num('--route-warmup', 3);
const STEADY_S = num('--steady', 600);
const IDLE_WINDOW_S = num('--idle-window', 20);
const CONVERGE_TIMEOUT_S = num('--converge-timeout', 180);
const KEEP = has('--keep');
/** Nodes started together after the first (0: all at once); "converge" counts from the last one's start. */
const START_BATCH = num('--start-batch', 8);
const HYBRID = has('--hybrid');

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Why the run is on plain loopback, or undefined when zones are possible. */
function loopbackReason(): string | undefined {
  if (has('--loopback')) return '--loopback given';
  return netnsUnavailable()?.replace(/--net netns/g, '--net zones');
}

async function trials(label: string, count: number, run: (i: number) => Promise<Trial>): Promise<Trial[]> {
  const out: Trial[] = [];
  for (let i = 0; i < count; i++) {
    const t = await run(i);
    out.push(t);
    say(`   ${label} #${i + 1}: ${Number.isFinite(t.ms) ? `${Math.round(t.ms)} ms` : 'missed'}${t.problem ? ` (${t.problem})` : ''}`);
  }
  return out;
}

async function createService(admin: string, upstreamPort: number): Promise<string> {
  const r = await fetch(`${admin}/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'scale-upstream', url: `http://127.0.0.1:${upstreamPort}` }),
  });
  if (r.status !== 201) throw new Error(`bench:scale: creating the service on ${admin} answered ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

/** A control plane and N − 1 data planes (plain loopback): route written on the control plane → served by every data plane. */
async function hybridRoutes(n: number): Promise<Trial[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-bench-scale-hybrid-${n}-`));
  say(`   hybrid: a control plane and ${n - 1} data planes on plain loopback (dir ${dir})`);
  let serviceId = '';
  const cl = await SimCluster.start({
    nodes: n - 1,
    dir,
    hybrid: true,
    log: (l) => say(`   ${l}`),
    setup: async (cp, c) => {
      serviceId = await createService(cp.adminUrl, c.upstream.port);
    },
  });
  try {
    if (!(await cl.waitFormed(CONVERGE_TIMEOUT_S * 1000))) say('   hybrid: the data planes had not formed; route trials anyway');
    await warmProbes(cl.nodes);
    // As in DB mode: the first changes run the control plane's and the data planes' paths cold.
    await trials('route change (hybrid, warm-up, not counted)', ROUTE_WARMUP, (i) => routeTrial(cl, cl.cp!, serviceId, 1000 + i));
    return await trials('route change (hybrid)', ROUTE_TRIALS, (i) => routeTrial(cl, cl.cp!, serviceId, i));
  } finally {
    await cl.stop();
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Boot N nodes; the convergence clock starts when the last of them answers. */
async function boot(n: number, dir: string, zones: boolean): Promise<{ cl: SimCluster; serviceId: string; bootS: number; convergeMs: number }> {
  const ups = new Map<string, number>();
  let first = 0;
  let serviceId = '';
  let converged: Promise<number> | undefined;
  let ref: SimCluster | undefined;
  const cl = await SimCluster.start({
    nodes: n,
    dir,
    ...(zones ? { net: 'zones' as const, zones: ZONES } : {}),
    startBatch: START_BATCH,
    // 50 nodes and their relays on two cores: the last batches took over SimNode's 90 s to answer.
    readyTimeoutMs: CONVERGE_TIMEOUT_S * 1000,
    // Kong's 5 s connect timeout is too short for the last of 50 nodes started on two cores:
    // its connects (through the harness's per-node Postgres relay) timed out four times in a row.
    config: { pg_timeout: 20_000, ...EXTRA },
    log: (l) => say(`   ${l}`),
    onState: (node, st) => {
      if (st === 'starting' && !first) first = Date.now();
      if (st !== 'up' || ups.has(node)) return;
      ups.set(node, Date.now());
      // Poll from this moment on: SimCluster.start still learns peer ids and starts the balancer.
      if (ups.size === n && ref) converged = waitConverged(ref.nodes, n, CONVERGE_TIMEOUT_S * 1000);
    },
    setup: async (firstNode, c) => {
      ref = c;
      serviceId = await createService(firstNode.adminUrl, c.upstream.port);
    },
  });
  const lastUp = Math.max(...ups.values());
  const at = await (converged ?? waitConverged(cl.nodes, n, CONVERGE_TIMEOUT_S * 1000));
  return { cl, serviceId, bootS: (lastUp - first) / 1000, convergeMs: at - lastUp };
}

/** Where this size's nodes trace their changes (src/sync/trace.ts): read for the traced route figure. */
const traceDirOf = (dir: string) => path.join(dir, 'trace');

async function runSize(n: number, zones: boolean): Promise<SizeResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gossamer-bench-scale-${n}-`));
  fs.mkdirSync(traceDirOf(dir), { mode: 0o777 });
  // Every node started from here on inherits it (the simulator passes its environment on).
  process.env.GOSSAMER_TRACE_CHANGES = traceDirOf(dir);
  say(`\n== N = ${n}: starting (dir ${dir}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  // Also on Ctrl-C and when the boot fails: a 50-node run leaves a lot of logs and Postgres data.
  const untrackDir = KEEP ? () => {} : trackCleanup(`bench:scale dir ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  const { cl, serviceId, bootS, convergeMs } = await boot(n, dir, zones).catch((err: unknown) => {
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    untrackDir();
    throw err;
  });
  const res: SizeResult = {
    n,
    net: cl.zones ? cl.zones.describe() : `${n} nodes on plain loopback (no zones, no latency, no loss)`,
    loss: cl.zones ? ZONES.loss : 0,
    bootS,
    convergeMs,
    kill: [],
    stop: [],
    route: [],
    routeTraced: [],
    routeQuiet: [],
    routeWarmup: [],
    steady: [],
    hybridRoute: undefined,
    problems: Number.isFinite(convergeMs) ? [] : [`not every node saw ${n} alive within ${CONVERGE_TIMEOUT_S} s of the last start`],
  };
  say(Number.isFinite(convergeMs) ? `   converged ${(convergeMs / 1000).toFixed(2)} s after the last start` : `   NOT converged within ${CONVERGE_TIMEOUT_S} s of the last start: no trials at this size`);
  if (!Number.isFinite(convergeMs)) say(`   ${await describeViews(cl.nodes)}`);
  try {
    // Faults on a cluster that never formed measure the machine, not the protocol: say so, skip them.
    if (!Number.isFinite(convergeMs)) return res;
    if (STEADY_S > 0) res.steady.push({ loss: res.loss, result: await steadyWindow(cl, STEADY_S, (l) => say(`   ${l}`)) });
    // Per idle node (CPU, RSS, cluster traffic, Postgres): after the steady window, before any
    // fault or write. Right after convergence V8 is still compiling the nodes' code paths (about
    // two minutes after a start): that is start-up, not idling.
    const f = await measureIdle({ nodes: cl.nodes, pg: cl.pg, windowMs: IDLE_WINDOW_S * 1000 });
    res.idle = idleSummary(f);
    say(`   idle${STEADY_S >= 120 ? '' : ` (only ${STEADY_S} s after convergence: still warming up)`}: ${res.idle.join('; ')}`);
    const victims = cl.nodes.slice(1);
    const victim = (i: number): SimNode => victims[i % victims.length]!;
    res.kill = await trials('SIGKILL', TRIALS, (i) => detectionTrial(cl, victim(i), 'SIGKILL'));
    res.stop = await trials('SIGSTOP', TRIALS, (i) => detectionTrial(cl, victim(i), 'SIGSTOP'));
    // The last SIGSTOP victim has just resumed: the route trials start once every node sees all
    // alive again, with this process's connections to every proxy open (see warmProbes).
    await waitConverged(cl.nodes, n, CONVERGE_TIMEOUT_S * 1000);
    await warmProbes(cl.nodes);
    res.routeWarmup = await trials('route change (warm-up, not counted)', ROUTE_WARMUP, (i) => routeTrial(cl, cl.nodes[i % cl.nodes.length]!, serviceId, 1000 + i));
    res.route = await trials('route change', ROUTE_TRIALS, (i) => routeTrial(cl, cl.nodes[i % cl.nodes.length]!, serviceId, i));
    await new Promise((r) => setTimeout(r, 1000)); // the nodes write their traces 250 ms after a change
    res.routeTraced = tracedRouteTrials(traceDirOf(dir), res.route, n);
    res.routeQuiet = await trials('route change, not probed (traced)', ROUTE_TRIALS, (i) => quietRouteTrial(cl, cl.nodes[i % cl.nodes.length]!, serviceId, 2000 + i, traceDirOf(dir)));
    if (STEADY_S > 0 && cl.zones && res.loss > 0) {
      await cl.zones.setLoss(0);
      res.steady.push({ loss: 0, result: await steadyWindow(cl, STEADY_S, (l) => say(`   ${l}`)) });
    }
    for (const t of [...res.kill, ...res.stop, ...res.route, ...res.routeQuiet]) if (t.problem) res.problems.push(t.problem);
  } finally {
    const left = await cl.stop();
    if (left.length) res.problems.push(`ports still listening after the stop: ${left.join(', ')}`);
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
    untrackDir();
  }
  if (HYBRID) {
    try {
      res.hybridRoute = await hybridRoutes(n);
    } catch (err) {
      res.problems.push(`hybrid run: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return res;
}

async function main(): Promise<void> {
  const why = loopbackReason();
  say(`bench:scale: sizes ${SIZES.join(', ')} on ${os.cpus().length} cores, nodes started ${START_BATCH > 0 ? `${START_BATCH} at a time after the first` : 'all at once'}; ${TRIALS} SIGKILL + ${TRIALS} SIGSTOP trials, ${ROUTE_TRIALS} route changes, ${STEADY_S} s steady windows per size`);
  if (why) say(`bench:scale: PLAIN LOOPBACK, no zones, no latency, no loss: ${why}`);
  else say(`bench:scale: --net zones: ${ZONES.zones} zones, ${ZONES.inMs} ms inside, ${ZONES.crossMs} ± ${ZONES.jitterMs} ms across (one way), ${(ZONES.loss * 100).toFixed(2)} % loss across`);
  if (Object.keys(EXTRA).length) say(`bench:scale: extra node config ${JSON.stringify(EXTRA)}`);
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    try {
      results.push(await runSize(n, !why));
    } catch (err) {
      say(`== N = ${n}: could not be run: ${(err as Error).message}`);
      continue;
    }
    say('');
    for (const l of sizeTable(results.at(-1)!)) say(l);
  }
  // Every table again, together, when there was more than one size: the run's output scrolls far.
  if (results.length > 1) for (const r of results) for (const l of ['', ...sizeTable(r)]) say(l);
  say('');
  for (const l of summaryTable(results)) say(l);
  process.exit(results.length === SIZES.length ? 0 : 1);
}

main().catch((err) => {
  console.error(`bench:scale: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
