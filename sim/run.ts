// One simulator run: start the cluster, set up routes, run load + nemesis for the scenario's
// duration, let it settle, take the final facts, stop everything, judge, write the report.
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import pg from 'pg';
import { check, verdictTable, type CheckResult } from './checker/index.ts';
import { removePgData } from '../src/db/pg-server.ts';
import { SERVED_BY, SimCluster, simPgPlace } from './harness/cluster.ts';
import { CONTROL_PLANE } from './harness/hybrid-nodes.ts';
import { sleep } from './harness/node-process.ts';
import { describeViews, partitionViews } from './harness/net-views.ts';
import { Recorder, type BalancerEvent, type FinalDbEvent, type FinalProbeEvent, type NodeStateEvent, type WriteEntity } from './history.ts';
import { call, closeHttp, json } from './load/http.ts';
import { Prober } from './load/prober.ts';
import { startSampler } from './load/sampler.ts';
import { startTraffic } from './load/traffic.ts';
import { Writer } from './load/writer.ts';
import { runSchedule } from './nemesis/apply.ts';
import { appliedFaults } from './nemesis/compare.ts';
import { describeSchedule, randomSchedule } from './nemesis/schedule.ts';
import { prng } from './prng.ts';
import { startProgress } from './report/progress.ts';
import { writeReport, type ReportFiles } from './report/write.ts';
import type { FaultStep, Scenario } from './scenario.ts';
import type { ZoneOptions } from './harness/zones.ts';

export interface RunOptions {
  scenario: Scenario;
  seed: number;
  nodes?: number;
  outDir: string;
  quiet?: boolean;
  /** Keep Postgres data and node prefixes after the run (logs are always kept). */
  keep?: boolean;
  /**
   * How partitions cut: the nodes' connection gater (default) or `netns` packet drops (root,
   * Linux); `zones` adds latency and loss between zones. Default: the scenario's `net`.
   */
  net?: 'gater' | 'netns' | 'zones';
  /** `--net zones` settings from the command line; they override the scenario's `zones`. */
  zones?: Partial<ZoneOptions>;
}

export interface RunResult {
  result: CheckResult;
  table: string;
  files: ReportFiles;
  schedule: FaultStep[];
  notes: string[];
}

export function buildSchedule(s: Scenario, seed: number, nodes: number): FaultStep[] {
  const steps = [...s.faults];
  if (s.random_faults) steps.push(...randomSchedule(seed, s.duration, nodes, steps.length ? Math.max(...steps.map((x) => x.at)) + 5 : 5));
  for (const f of steps) {
    for (const n of [f.node, ...(f.groups ?? []).flat()]) {
      if (n && Number(n.slice(1)) > nodes) throw new Error(`${s.name}: fault ${f.op} at ${f.at}s names ${n}, but the run has ${nodes} nodes`);
    }
  }
  return steps.sort((a, b) => a.at - b.at);
}

const TABLES: Record<WriteEntity, { table: string; column: string }> = {
  routes: { table: 'routes', column: 'name' },
  consumers: { table: 'consumers', column: 'username' },
  keyauth_credentials: { table: 'keyauth_credentials', column: 'key' },
};

async function adminPost(url: string, body: unknown): Promise<{ id: string }> {
  const r = await call('POST', url, { timeoutMs: 10_000, json: body });
  const b = json<{ id?: string }>(r);
  if (r.status !== 201 || !b?.id) throw new Error(`setup: POST ${url} answered ${r.status || r.error}: ${r.body.slice(0, 300)}`);
  return { id: b.id };
}

/** The scenario's `zones` block with the command line's overrides on top. */
function zoneOptions(s: Scenario, o: RunOptions): Partial<ZoneOptions> {
  const z = s.zones;
  const fromScenario: Partial<ZoneOptions> = z ? { zones: z.count, inMs: z.in_ms, crossMs: z.cross_ms, jitterMs: z.jitter_ms, loss: z.loss } : {};
  return { ...fromScenario, ...Object.fromEntries(Object.entries(o.zones ?? {}).filter(([, v]) => v !== undefined)) };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const s = o.scenario;
  if (s.pending) throw new Error(`${s.name} is pending: ${s.pending}`);
  const nodes = o.nodes ?? s.nodes;
  const net = o.net ?? s.net ?? 'gater';
  const schedule = buildSchedule(s, o.seed, nodes);
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const recorder = new Recorder(s.name, o.seed, names, s.hybrid ? [CONTROL_PLANE] : []);
  const progress = startProgress(recorder, { quiet: o.quiet });
  const log = (line: string) => progress.log(line);
  const notes: string[] = [];
  const loadAtStart = loadavg();
  // If the simulator itself is starved of CPU, its timeouts fire late and its verdicts say more
  // about the machine than the cluster: measure it and say so.
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const clusterDir = path.join(o.outDir, 'cluster');
  fs.rmSync(clusterDir, { recursive: true, force: true });
  log(`scenario ${s.name}, seed ${o.seed}, ${nodes} ${s.hybrid ? 'data planes and a control plane' : 'nodes'}, ${s.duration}s; fault schedule:\n${describeSchedule(schedule)}`);

  let cluster: SimCluster | undefined;
  // Processes stopped by the teardown are not part of the history the checker judges.
  let observing = true;
  try {
    const basePaths = Array.from({ length: s.load.routes }, (_, i) => `/base${i}/`);
    let serviceId = '';
    cluster = await SimCluster.start({
      nodes,
      dir: clusterDir,
      config: s.config,
      nodeConfig: s.node_config,
      hybrid: s.hybrid,
      net,
      zones: zoneOptions(s, o),
      onState: (node, state, crashed) => {
        if (observing) recorder.add<NodeStateEvent>({ kind: 'node', node, state, ...(crashed ? { crashed } : {}) });
      },
      log,
      setup: async (first, cl) => {
        const admin = first.adminUrl;
        serviceId = (await adminPost(`${admin}/services`, { name: 'sim-upstream', protocol: 'http', host: '127.0.0.1', port: cl.upstream.port })).id;
        for (const [i, p] of basePaths.entries()) await adminPost(`${admin}/routes`, { name: `sim-base${i}`, paths: [p], service: { id: serviceId } });
        await adminPost(`${admin}/consumers`, { username: 'sim-owner' });
      },
    });
    const c = cluster;
    if (!(await c.waitFormed(30_000))) notes.push('the cluster had not formed (every node seeing every node alive) after 30 s; the run went on');
    // Every node must serve the base routes before the clock starts.
    const until = Date.now() + 60_000;
    for (const n of c.nodes) {
      for (const p of basePaths) {
        while ((await call('GET', `${n.proxyUrl}${p}`, { timeoutMs: 1000 })).status !== 200) {
          if (Date.now() > until) throw new Error(`setup: ${n.name} does not serve ${p} after 60 s`);
          await sleep(100);
        }
      }
    }

    const up = () => c.nodes.filter((n) => n.state === 'up');
    // Hybrid: writes go to the control plane's Admin API (data planes refuse them).
    const writable = () => (c.cp ? [c.cp].filter((n) => n.state === 'up') : up());
    const rng = prng(o.seed ^ 0x5eed);
    const prober = new Prober({ recorder, rng, targets: () => up().map((n) => ({ name: n.name, proxyUrl: n.proxyUrl })) });
    const writer = new Writer({
      recorder, rng, writesPerSecond: s.load.writes_per_s, entities: s.load.entities, serviceId, owner: 'sim-owner',
      targets: () => writable().map((n) => ({ name: n.name, adminUrl: n.adminUrl })),
      onSend: (key) => prober.supersede(key),
      onAck: (w) => prober.expect(w),
    });
    const sampled = c.cp ? [c.cp, ...c.nodes] : c.nodes;
    const sampler = startSampler({ recorder, targets: () => sampled.filter((n) => n.state !== 'down').map((n) => ({ name: n.name, adminUrl: n.adminUrl })) });

    const health = new Map<string, boolean>();
    const watchLb = setInterval(() => {
      for (const b of c.lb.stats().backends) {
        if (health.get(b.name) === b.healthy) continue;
        health.set(b.name, b.healthy);
        recorder.add<BalancerEvent>({ kind: 'balancer', node: b.name, healthy: b.healthy, why: b.lastCheckError });
      }
    }, 50);

    progress.phase('load');
    const loadStart = recorder.now();
    const traffic = startTraffic({ url: c.lb.url, rate: s.load.rate, paths: basePaths, recorder, servedByHeader: SERVED_BY });
    if (s.load.writes_per_s > 0) writer.start();
    prober.start();
    const nemesis = runSchedule({ cluster: c, recorder, log: (l) => { progress.fault(l.replace(/^nemesis: /, '')); log(l); } }, schedule, loadStart);
    await sleep(s.duration * 1000);
    nemesis.stop();
    await nemesis.done;
    const applied = appliedFaults(recorder.history);
    if (applied.length) notes.push(`faults: ${applied.length} begun, worst ${Math.max(...applied.map((f) => f.late_ms))} ms behind the schedule${applied.some((f) => f.failed) ? `; ${applied.filter((f) => f.failed).length} failed` : ''} (report.json lists planned and applied times)`);
    await Promise.all([traffic.stop(), writer.stop()]);
    // Not an invariant: a node cut off alone waits out its longest suspicion timeout by design
    // (no member can confirm), so say what each side saw instead.
    for (const v of partitionViews(recorder.history.events)) notes.push(`${net !== 'gater' ? 'black-hole ' : ''}${describeViews([v])[0]}`);
    if (traffic.skipped() > 0) notes.push(`the load generator skipped ${traffic.skipped()} of its sends (behind schedule or ${s.load.rate} requests already in flight): the offered load was lower than set`);

    progress.phase('settle');
    progress.fault('-');
    await sleep(s.settle * 1000);
    await prober.stop();

    clearInterval(watchLb);
    progress.phase('final');
    await sampler.sampleAll();
    await sampler.stop();
    const keys = writer.keys();
    try {
      const client = new pg.Client({ host: '127.0.0.1', port: c.pgPort, user: c.pg.user, password: c.pg.password, database: 'gossamer', connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        for (const k of keys) {
          const { table, column } = TABLES[k.entity];
          const r = await client.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [k.key]);
          recorder.add<FinalDbEvent>({ kind: 'final-db', entity: k.entity, key: k.key, present: (r.rowCount ?? 0) > 0 });
        }
      } finally {
        await client.end();
      }
    } catch (err) {
      notes.push(`could not read Postgres at the end: ${(err as Error).message}`);
    }
    const routePaths = new Set<string>();
    for (const e of recorder.history.events) if (e.kind === 'write' && e.entity === 'routes' && e.expect) for (const p of Object.keys(e.expect)) routePaths.add(p);
    for (const n of up()) {
      for (const p of routePaths) {
        const r = await call('GET', `${n.proxyUrl}${p}`, { timeoutMs: 2000 });
        recorder.add<FinalProbeEvent>({ kind: 'final-probe', node: n.name, path: p, status: r.status });
      }
    }
    log(`load: ${writer.acked} writes acknowledged, ${writer.failed} failed; ${prober.probes} probes; balancer ${JSON.stringify({ requests: c.lb.stats().requests, failed: c.lb.stats().failed, retried: c.lb.stats().retried })}`);
  } finally {
    progress.phase('stop');
    observing = false;
    if (cluster) {
      const left = await cluster.stop();
      if (left.length) notes.push(`still listening after stop: ports ${left.join(', ')}`);
    }
    await closeHttp();
    if (!o.keep) {
      removePgData(await simPgPlace(clusterDir));
      for (const n of names) fs.rmSync(path.join(clusterDir, n, 'prefix'), { recursive: true, force: true });
    }
    progress.stop();
  }

  lag.disable();
  notes.push(`machine load average at the start ${loadAtStart}, at the end ${loadavg()} (${os.cpus().length} cores); simulator event-loop delay p99 ${Math.round(lag.percentile(99) / 1e6)} ms, max ${Math.round(lag.max / 1e6)} ms; timings stretch under load`);
  const result = check(recorder.history, s.invariants);
  if (notes.some((n) => n.startsWith('still listening'))) result.ok = false;
  const files = writeReport(o.outDir, recorder.history, result, s, schedule, notes);
  return { result, table: verdictTable(result), files, schedule, notes };
}
