// `npm run bench:membership [-- --quick]`: failure detection of the membership protocol.
// (a) 5 real `gossamer start` processes on one embedded Postgres, under proxy load from this
//     script (closed-loop HTTP through the load balancer): SIGKILL and SIGSTOP trials, time
//     until EVERY survivor marks the victim failed (from the nodes' own log timestamps),
//     time until a (re)started node is alive on every member after its start finished, and
//     every `failed` mark of a node that was not faulted (a false failure) over the run.
//     Beside it: memberlist's LAN defaults, from its formula and from a run of this code
//     with those timings.
// (b) 10 / 50 / 100 members in one process (libp2p over @libp2p/memory): convergence,
//     detection of a killed member, per-node message rate.
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { SimCluster } from '../harness/cluster.ts';
import type { SimNode } from '../harness/node-process.ts';
import { defaultSettings, memberlistLanSettings } from '../../src/cluster/settings.ts';
import { expectedConfirmations, suspicionMinTimeout, suspicionTimeout } from '../../src/cluster/suspicion.ts';
import { INPROC_NOTE, INPROC_SETTINGS, runInproc, type InprocResult } from './membership-inproc.ts';
import { readEvents, waitAll } from './member-events.ts';
import { pct } from './stats.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const KEEP = args.includes('--keep');
const arg = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const TRIALS = arg('--trials', QUICK ? 3 : 20);
const LAN_TRIALS = arg('--lan-trials', QUICK ? 0 : 5);
/**
 * `--production`: the in-process members use the production timings (defaultSettings: probes
 * every 250 ms) instead of INPROC_SETTINGS, at 50, 100, 200 and 500 members by default, and the
 * run says at which size one shared event loop stops keeping up, and why (issue #17 item 4).
 */
const PRODUCTION = args.includes('--production');
const SIZES = args.includes('--sizes') ? args[args.indexOf('--sizes') + 1]!.split(',').map(Number) : PRODUCTION ? [50, 100, 200, 500] : QUICK ? [10, 30] : [10, 50, 100];
const SKIP_PROC = args.includes('--no-processes');
const SKIP_INPROC = args.includes('--no-inproc');
const CONCURRENCY = arg('--concurrency', 16);
/** `--soak SECONDS`: no faults, only proxy load: every `failed` mark is a false failure. */
const SOAK_S = arg('--soak', 0);
const NODES = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stdout.write(s + '\n');

const fmt = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

interface Fault {
  node: string;
  from: number;
  to: number;
}

interface ProcResult {
  label: string;
  kill: number[];
  stop: number[];
  join: number[];
  missed: string[];
  falseFailures: { node: string; member: string; time: number }[];
  suspicions: number;
  refuted: number;
  requests: number;
  errors: number;
  seconds: number;
}

function startLoad(url: string, concurrency: number): { stop(): Promise<{ ok: number; errors: number }> } {
  const pool = new Pool(url, { connections: concurrency, keepAliveTimeout: 10_000 });
  let running = true;
  let ok = 0;
  let errors = 0;
  const worker = async () => {
    while (running) {
      try {
        const r = await pool.request({ path: '/bench', method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
        await r.body.dump();
        if (r.statusCode < 500) ok++;
        else errors++;
      } catch {
        errors++;
        await sleep(20);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      await pool.close();
      return { ok, errors };
    },
  };
}

/** Latest value of a counter per process (pid): a killed process's count stays as last read. */
async function sampleCounter(nodes: SimNode[], name: string, into: Map<number, number>): Promise<void> {
  for (const n of nodes) {
    if (n.pid === undefined) continue;
    try {
      const r = await fetch(`${n.adminUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
      const text = await r.text();
      const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, 'm').exec(text);
      if (m) into.set(n.pid, Number(m[1]));
    } catch {
      /* a node that is down has no metrics */
    }
  }
}

const total = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** SimCluster gives a start 30 s; on an overloaded machine a cold start (tsx) can take longer. */
async function startSlow(cl: SimCluster, n: SimNode): Promise<void> {
  try {
    await cl.startNode(n.name);
  } catch (err) {
    if (!/did not answer/.test((err as Error).message) || n.pid === undefined) throw err;
    say(`   ${n.name}: slow start (${(err as Error).message.split('\n')[0]}); waiting longer`);
    const end = Date.now() + 90_000;
    for (;;) {
      try {
        const r = await fetch(`${n.adminUrl}/status`, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        /* not yet */
      }
      if (Date.now() > end) throw err;
      await sleep(200);
    }
    n.state = 'up';
    await cl.learnPeerId(n);
  }
}

async function runProcesses(label: string, config: Record<string, string | number>, trials: number, soakS = 0): Promise<ProcResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-membership-'));
  const what = soakS > 0 ? `${soakS} s without faults` : `${trials} SIGKILL + ${trials} SIGSTOP trials`;
  say(`\n== ${label}: ${NODES} node processes, ${what} under proxy load (dir ${dir})`);
  const cl = await SimCluster.start({ nodes: NODES, dir, config, log: (l) => say(`   ${l}`) });
  const faults: Fault[] = [];
  const res: ProcResult = { label, kill: [], stop: [], join: [], missed: [], falseFailures: [], suspicions: 0, refuted: 0, requests: 0, errors: 0, seconds: 0 };
  const t0 = Date.now();
  // Metrics are per process: counters of a killed process are lost, so sum them as we go.
  const susp = new Map<number, number>();
  const refuted = new Map<number, number>();
  const collect = async () => {
    await sampleCounter(cl.nodes, 'gossamer_cluster_suspicions_total', susp);
    await sampleCounter(cl.nodes, 'gossamer_cluster_false_suspicions_total', refuted);
    res.suspicions = total(susp);
    res.refuted = total(refuted);
  };
  try {
    if (!(await cl.waitFormed(30_000))) throw new Error('the cluster did not form within 30 s');
    const admin = cl.nodes[0]!.adminUrl;
    const post = async (p: string, body: unknown) => {
      const r = await fetch(`${admin}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<{ id: string }>;
    };
    const svc = await post('/services', { name: 'bench', url: `http://127.0.0.1:${cl.upstream.port}` });
    await post('/routes', { name: 'bench', paths: ['/bench'], service: { id: svc.id } });
    await sleep(1000);
    const load = startLoad(`http://127.0.0.1:${cl.lb.port}`, CONCURRENCY);
    await sleep(2000);
    const victims = cl.nodes.slice(1).map((n) => n.name);
    const soakEnd = Date.now() + soakS * 1000;
    while (Date.now() < soakEnd) {
      await sleep(Math.min(10_000, soakEnd - Date.now()));
      await collect();
      const failed = readEvents(cl.nodes).filter((e) => e.msg === 'cluster: member failed' && e.time >= t0).length;
      say(`   soak ${Math.round((Date.now() - t0) / 1000)} s: ${failed} failed marks, ${res.suspicions} suspicions, ${res.refuted} refuted`);
    }

    for (let i = 0; i < trials; i++) {
      const victim = cl.node(victims[i % victims.length]!);
      const others = cl.nodes.filter((n) => n !== victim);
      await collect();
      const tk = Date.now();
      await victim.kill();
      const ok = await waitAll(others, victim.name, 'failed', 20_000);
      const evs = readEvents(others).filter((e) => e.member === victim.name && e.msg === 'cluster: member failed' && e.time >= tk);
      const byNode = new Set(evs.map((e) => e.node));
      if (ok && byNode.size === others.length) res.kill.push(Math.max(...others.map((o) => Math.min(...evs.filter((e) => e.node === o.name).map((e) => e.time)))) - tk);
      else res.missed.push(`SIGKILL ${victim.name} #${i + 1}: not failed everywhere within 20 s`);
      await startSlow(cl, victim);
      const ready = Date.now();
      faults.push({ node: victim.name, from: tk, to: ready });
      const back = await waitAll(others, victim.name, 'alive', 20_000);
      const joins = readEvents(others).filter((e) => e.member === victim.name && /joined|rejoined/.test(e.msg) && e.time >= tk);
      if (back && new Set(joins.map((e) => e.node)).size === others.length) {
        res.join.push(Math.max(0, Math.max(...others.map((o) => Math.min(...joins.filter((e) => e.node === o.name).map((e) => e.time)))) - ready));
      } else res.missed.push(`restart ${victim.name} #${i + 1}: not alive everywhere within 20 s`);
      faults[faults.length - 1]!.to = Date.now();
      say(`   SIGKILL ${victim.name}: failed on all ${others.length} survivors after ${fmt(res.kill.at(-1) ?? NaN)}; restarted, alive on all ${fmt(res.join.at(-1) ?? NaN)} after its start finished`);
      await sleep(1000);
    }

    for (let i = 0; i < trials; i++) {
      const victim = cl.node(victims[i % victims.length]!);
      const others = cl.nodes.filter((n) => n !== victim);
      const tk = Date.now();
      victim.pause();
      const ok = await waitAll(others, victim.name, 'failed', 20_000);
      const evs = readEvents(others).filter((e) => e.member === victim.name && e.msg === 'cluster: member failed' && e.time >= tk);
      const byNode = new Set(evs.map((e) => e.node));
      if (ok && byNode.size === others.length) res.stop.push(Math.max(...others.map((o) => Math.min(...evs.filter((e) => e.node === o.name).map((e) => e.time)))) - tk);
      else res.missed.push(`SIGSTOP ${victim.name} #${i + 1}: not failed everywhere within 20 s`);
      victim.resume();
      const back = await waitAll(others, victim.name, 'alive', 20_000);
      faults.push({ node: victim.name, from: tk, to: Date.now() });
      if (!back) res.missed.push(`SIGCONT ${victim.name} #${i + 1}: not alive again everywhere within 20 s`);
      say(`   SIGSTOP ${victim.name}: failed on all ${others.length} after ${fmt(res.stop.at(-1) ?? NaN)}; after SIGCONT alive again: ${back ? 'yes' : 'NO'}`);
      await sleep(1000);
    }
    await collect();
    const l = await load.stop();
    res.requests = l.ok;
    res.errors = l.errors;
    res.seconds = (Date.now() - t0) / 1000;
    // A failed mark outside a fault window of that member is a false failure.
    for (const e of readEvents(cl.nodes)) {
      if (e.msg !== 'cluster: member failed' || e.time < t0) continue;
      const covered = faults.some((f) => f.node === e.member && e.time >= f.from && e.time <= f.to + 2000);
      if (!covered) res.falseFailures.push({ node: e.node, member: e.member, time: e.time });
    }
  } finally {
    await cl.stop();
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

function lanReference(n: number): string {
  const s = { ...defaultSettings, ...memberlistLanSettings };
  const min = suspicionMinTimeout(s.suspicion_mult, n, s.probe_interval_ms);
  const max = s.suspicion_max_timeout_mult * min;
  const k = expectedConfirmations(s.suspicion_mult, n);
  // First probe of the dead node by some member: on average interval/(n-1) away; the probe
  // round (direct timeout + indirect until the interval ends) takes one interval; then the
  // suspicion runs at least `min` (every confirmation in) and up to `max` (none).
  const firstProbe = s.probe_interval_ms / (n - 1);
  const best = firstProbe + s.probe_interval_ms + min;
  const lone = firstProbe + s.probe_interval_ms + suspicionTimeout(1, k, min, max);
  return `memberlist DefaultLANConfig (probe ${s.probe_interval_ms} ms / timeout ${s.probe_timeout_ms} ms, SuspicionMult ${s.suspicion_mult}, n=${n}): suspicion ${fmt(min)}..${fmt(max)}, detection ≈ ${fmt(best)} with all confirmations, ${fmt(lone)} with one`;
}

function ours(n: number): string {
  const s = defaultSettings;
  const min = suspicionMinTimeout(s.suspicion_mult, n, s.probe_interval_ms);
  return `Gossamer defaults (probe ${s.probe_interval_ms} ms / timeout ${s.probe_timeout_ms} ms, SuspicionMult ${s.suspicion_mult}, n=${n}): suspicion ${fmt(min)}..${fmt(s.suspicion_max_timeout_mult * min)}`;
}

function printProc(r: ProcResult): void {
  say(`\n-- ${r.label}`);
  say(`   SIGKILL → failed on every survivor: n=${r.kill.length} p50 ${fmt(pct(r.kill, 50))} p99 ${fmt(pct(r.kill, 99))} max ${fmt(Math.max(...r.kill))}   (target ≤ 2 s)`);
  say(`   SIGSTOP → failed on every survivor: n=${r.stop.length} p50 ${fmt(pct(r.stop, 50))} p99 ${fmt(pct(r.stop, 99))} max ${fmt(Math.max(...r.stop))}   (target ≤ 3 s)`);
  say(`   (re)started node alive on every member after its start finished: n=${r.join.length} p50 ${fmt(pct(r.join, 50))} p99 ${fmt(pct(r.join, 99))}   (target ≤ 2 s)`);
  say(`   false failures: ${r.falseFailures.length}${r.falseFailures.length ? ' ' + JSON.stringify(r.falseFailures) : ''}; suspicions ${r.suspicions} (every node's count, summed), refuted ${r.refuted}`);
  say(`   proxy load: ${r.requests} requests (${(r.requests / r.seconds).toFixed(0)}/s), ${r.errors} errors, ${r.seconds.toFixed(0)} s`);
  for (const m of r.missed) say(`   MISSED: ${m}`);
}

async function main(): Promise<void> {
  say(`bench:membership ${QUICK ? '(quick)' : ''} on ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  say(ours(NODES));
  say(lanReference(NODES));
  const results: ProcResult[] = [];
  if (SOAK_S > 0) {
    results.push(await runProcesses(`Gossamer defaults, soak`, {}, 0, SOAK_S));
    printProc(results[0]!);
  } else if (!SKIP_PROC) {
    results.push(await runProcesses('Gossamer defaults', {}, TRIALS));
    printProc(results[0]!);
    if (LAN_TRIALS > 0) {
      const lan = memberlistLanSettings;
      results.push(
        await runProcesses(
          'same code, memberlist LAN timings',
          {
            cluster_probe_interval: lan.probe_interval_ms!,
            cluster_probe_timeout: lan.probe_timeout_ms!,
            cluster_suspicion_mult: lan.suspicion_mult!,
            cluster_suspicion_max_timeout_mult: lan.suspicion_max_timeout_mult!,
            cluster_gossip_interval: lan.gossip_interval_ms!,
            cluster_push_pull_interval: lan.push_pull_interval_ms!,
          },
          LAN_TRIALS,
        ),
      );
      printProc(results[1]!);
    }
  }
  const inproc: InprocResult[] = [];
  if (!SKIP_INPROC && SOAK_S === 0) {
    const settings = PRODUCTION ? { ...defaultSettings } : undefined;
    for (const n of SIZES) {
      say(`\n== ${n} members in one process (${INPROC_NOTE}; ${PRODUCTION ? `production timings: probe ${defaultSettings.probe_interval_ms} ms, probe timeout ${defaultSettings.probe_timeout_ms} ms` : JSON.stringify(INPROC_SETTINGS)})`);
      const r = await runInproc(n, { rateWindowMs: QUICK ? 5000 : 10_000, log: say, settings });
      inproc.push(r);
      const why = PRODUCTION ? notScaling(r) : [];
      if (why.length) {
        const rest = SIZES.filter((x) => x > n);
        say(`\n   stops scaling at ${n} members in one process: ${why.join('; ')}.`);
        say(`   One event loop on one core pays every member's probes (${n} x ${(1000 / defaultSettings.probe_interval_ms).toFixed(0)} a second, each end); a real node pays only its own: ${(r.cpu_pct / n).toFixed(2)} % of a core per member here.`);
        if (rest.length) say(`   not run: ${rest.join(', ')} members (larger than where it stopped)`);
        break;
      }
    }
  }

  say('\n== summary');
  say(ours(NODES));
  say(lanReference(NODES));
  for (const r of results) printProc(r);
  if (inproc.length) {
    say('\n   converge: the same member list (all n, none failed) on every node; all alive: also no member suspected anywhere');
    say('   msgs: every message a node sends / receives: gossipsub RPC frames (all topics, control included), probe pings and pongs (and pings of non-member connections), ping-req, push-pull');
    say('   converge and all alive are counted from the moment the last member finished starting; start is the simulation building 100 libp2p hosts in one process');
    say('\n   members  start   converge  all alive  kill→first  kill→all  msgs out/node/s (max)  msgs in/node/s (max)  conns/node  CPU(1 core=100%)  RSS  longest stall');
    for (const r of inproc) {
      say(
        `   ${String(r.nodes).padStart(7)}  ${fmt(r.start_ms).padStart(7)}  ${fmt(r.converge_ms).padStart(8)}  ${fmt(r.all_alive_ms).padStart(9)}  ${fmt(r.kill_detect_ms ?? NaN).padStart(10)}  ${fmt(r.kill_detect_all_ms ?? NaN).padStart(8)}  ${`${r.msgs_out_per_node_per_s.toFixed(1)} (${r.msgs_out_max_node_per_s.toFixed(1)})`.padStart(21)}  ${`${r.msgs_in_per_node_per_s.toFixed(1)} (${r.msgs_in_max_node_per_s.toFixed(1)})`.padStart(20)}  ${r.connections_per_node.toFixed(1).padStart(10)}  ${String(r.cpu_pct).padStart(15)}%  ${r.rss_mb} MB  ${fmt(r.max_stall_ms)}`,
      );
    }
  }
  process.exit(0);
}

/** Why an in-process run with production timings no longer measures the protocol (empty: it still does). */
function notScaling(r: InprocResult): string[] {
  const why: string[] = [];
  if (!Number.isFinite(r.converge_ms)) why.push('members did not converge within 60 s');
  if (r.false_failures > 0) why.push(`${r.false_failures} false failures at rest`);
  if (r.cpu_pct >= 90) why.push(`the process used ${r.cpu_pct} % of its one core`);
  // A stall longer than the probe timeout matters when it cost something (a false failure,
  // above); one garbage collection of a large heap alone does not stop the protocol.
  if (why.length && r.max_stall_ms > defaultSettings.probe_timeout_ms) why.push(`its event loop stalled up to ${fmt(r.max_stall_ms)}, longer than the ${defaultSettings.probe_timeout_ms} ms probe timeout`);
  return why;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
