// `npm run bench:idle [-- --sizes 1,4,10,16 --window 20 --settle 150 --at-once --keep]`: what an idle cluster costs
// per node as it grows. For each N: N real `gossamer start` processes (worker_processes = 1)
// on one embedded Postgres, loopback, no traffic; once every node sees N alive, one window of
// CPU (/proc), RSS, cluster traffic and connections (tcp_info) and Postgres figures.
// The machine's load average is printed beside each size: other processes share the cores.
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startIdleCluster, type IdleCluster } from './idle-cluster.ts';
import { describeViews, readEvents } from './member-events.ts';
import { measureIdle, type IdleFigures } from './idle-figures.ts';
import { parseSetOption } from './extra-config.ts';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const SIZES = (opt('--sizes') ?? '1,4,10,16').split(',').map(Number);
const WINDOW_S = Number(opt('--window') ?? 20);
/**
 * Seconds between convergence and the window: start-up work is not idling. V8 goes on
 * compiling the cluster's code paths (probes, gossip, timers) for about two minutes after a
 * node starts; measured from 10 s, a 10-node cluster's nodes cost 2.4 % of a core each, from
 * 150 s 1.5 %. `--settle 10` shows the warm-up.
 */
const SETTLE_S = Number(opt('--settle') ?? 150);
const KEEP = args.includes('--keep');
/**
 * `--at-once`: all N nodes start at the same moment (none first), and the run holds them to the
 * issue's goal: every node sees N alive within 10 s of the last start, and no member is marked
 * failed or suspected afterwards (through settling and the window).
 */
const AT_ONCE = args.includes('--at-once');
const AT_ONCE_GOAL_S = 10;
const CONVERGE_TIMEOUT_S = Number(opt('--converge-timeout') ?? 120);
/**
 * `--profile DIR`: node n1 runs under `node --cpu-prof --cpu-prof-dir=DIR` from the TypeScript
 * sources (GOSSAMER_NO_BUNDLE=1, so the profile names source files) and stops gracefully after
 * the window, which writes the profile (--cpu-prof is refused in NODE_OPTIONS).
 */
const PROFILE = opt('--profile');
/** `--set key=value,...`: extra node config, to compare settings. */
const EXTRA = parseSetOption(opt('--set'));

const say = (s: string) => process.stdout.write(s + '\n');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const max = (xs: number[]) => Math.max(...xs);
const f1 = (x: number) => x.toFixed(1);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function print(f: IdleFigures, convergedMs: number | null, loadBefore: string): void {
  say(`\nN = ${f.n}  (converged ${convergedMs === null ? 'NEVER' : `${(convergedMs / 1000).toFixed(1)} s`} after the last start; window ${f1(f.windowS)} s; load average before ${loadBefore}, after ${load()})`);
  say(`  CPU per node, % of a core: mean ${f1(mean(f.cpuNode))} (primary ${f1(mean(f.cpuPrimary))} + worker ${f1(mean(f.cpuWorkers))}), max ${f1(max(f.cpuNode))}; all nodes ${f1(f.cpuNode.reduce((a, b) => a + b, 0))}`);
  say(`  CPU elsewhere: Postgres ${f1(f.cpuPostgres)} %, this bench ${f1(f.cpuBench)} %`);
  say(`  RSS: primary mean ${f1(mean(f.rssPrimaryMb))} MB (max ${f1(max(f.rssPrimaryMb))}), worker mean ${f1(mean(f.rssWorkerMb))} MB`);
  say(`  cluster per node: ${f1(mean(f.clusterSegsPerS))} data segments/s sent, ${f1(mean(f.clusterBytesPerS) / 1024)} KiB/s sent, ${f1(mean(f.clusterConns))} connections open, ${f1(mean(f.clusterOpensPerS))} opened/s`);
  say(`  Postgres: ${f.pgConnsTotal} connections (${f1(mean(f.pgConnsPerNode))} per node, max ${max(f.pgConnsPerNode)}), ${f1(f.pgXactsPerS)} transactions/s, ${f1(f.pgSegsPerS)} requests/s from the nodes`);
}

/** The --at-once goal: converged within AT_ONCE_GOAL_S of the last start, and no failure or suspicion since. */
function atOnceVerdict(c: IdleCluster): boolean {
  const since = readEvents(c.nodes).filter((e) => !Number.isFinite(c.convergedAt) || e.time > c.convergedAt);
  const failedMarks = since.filter((e) => e.msg === 'cluster: member failed').length;
  const suspicions = since.filter((e) => e.msg === 'cluster: member suspected').length;
  const fast = c.convergedMs !== null && c.convergedMs <= AT_ONCE_GOAL_S * 1000;
  const ok = fast && failedMarks === 0;
  say(`  started at once: every node saw ${c.nodes.length} alive ${c.convergedMs === null ? 'NEVER' : `${f1(c.convergedMs / 1000)} s`} after the last start (goal ≤ ${AT_ONCE_GOAL_S} s ${fast ? '✓' : '✗'}); since then ${failedMarks} failed marks, ${suspicions} suspicions (goal 0 failed ${failedMarks === 0 ? '✓' : '✗'})`);
  return ok;
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-idle-'));
fs.chmodSync(base, 0o755); // the postgres user must reach the data directory below
const perNodeCpu = new Map<number, number>();

/** A wrapper that puts --cpu-prof between node and the script SimNode runs. */
function profileWrapper(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(base, 'cpu-prof.sh');
  fs.writeFileSync(script, `#!/bin/sh\nnode="$1"; shift\nGOSSAMER_NO_BUNDLE=1 exec "$node" --cpu-prof --cpu-prof-dir=${JSON.stringify(path.resolve(dir))} "$@"\n`, { mode: 0o755 });
  return [script];
}
say(`bench:idle: sizes ${SIZES.join(', ')}, window ${WINDOW_S} s after ${SETTLE_S} s of settling; ${os.cpus().length} cores; under ${base}${Object.keys(EXTRA).length ? `; extra config ${JSON.stringify(EXTRA)}` : ''}`);
let failed = false;
for (const n of SIZES) {
  const dir = path.join(base, `n${n}`);
  const c = await startIdleCluster({ n, dir, config: EXTRA, atOnce: AT_ONCE, convergeTimeoutMs: CONVERGE_TIMEOUT_S * 1000, ...(PROFILE ? { wrapFirst: profileWrapper(path.join(PROFILE, `n${n}`)) } : {}), log: (l) => say(`  ${l}`) });
  try {
    if (c.convergedMs === null) {
      failed = true;
      say(`N = ${n}: the nodes never all saw ${n} alive; measuring anyway`);
      say(`  ${await describeViews(c.nodes)}`);
    }
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const loadBefore = load();
    const f = await measureIdle({ nodes: c.nodes, pg: c.pg, windowMs: WINDOW_S * 1000 });
    perNodeCpu.set(n, mean(f.cpuNode));
    print(f, c.convergedMs, loadBefore);
    if (AT_ONCE) failed = !atOnceVerdict(c) || failed;
  } finally {
    if (PROFILE) await c.nodes[0]!.stop();
    await c.stop();
  }
}
const at4 = perNodeCpu.get(4);
if (at4) for (const [n, cpu] of perNodeCpu) say(`per-node CPU at ${n} / at 4: ${(cpu / at4).toFixed(2)} (${f1(cpu)} % / ${f1(at4)} %)`);
if (!KEEP) fs.rmSync(base, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
