// bench:membership part (b): many members in ONE process over @libp2p/memory, each with its
// own libp2p host and membership, to measure how the protocol scales: convergence after
// start, detection of a killed member, and the per-node message rate at a given size.
import '../../src/polyfill.ts';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection, Stream } from '@libp2p/interface';
import { pskFromSecret, startCluster, type Cluster, type MembershipSettings } from '../../src/cluster/index.ts';

export interface InprocResult {
  nodes: number;
  start_ms: number;
  converge_ms: number;
  all_alive_ms: number;
  kill_detect_ms: number | null;
  kill_detect_all_ms: number | null;
  /** Every message a node sends: gossipsub RPC frames, probe pings (and pongs), ping-req, push-pull. */
  msgs_out_per_node_per_s: number;
  msgs_out_max_node_per_s: number;
  msgs_in_per_node_per_s: number;
  msgs_in_max_node_per_s: number;
  /** Membership gossip messages delivered to a node (state changes only; 0 when nothing changes). */
  gossip_in_per_node_per_s: number;
  connections_per_node: number;
  false_failures: number;
  rss_mb: number;
  cpu_pct: number;
  /** Longest event-loop stall after the start (GC, or a machine whose other processes hold the CPU). */
  max_stall_ms: number;
}

/**
 * Every member of the simulation shares ONE event loop (and here one of two cores), so the
 * per-node costs that are nothing for a real node add up: probes every 500 ms instead of 250,
 * a probe timeout of 1 s (a late answer here is the shared loop's delay, not the member's),
 * gossipsub heartbeat 1 s, the ping of connections to non-members 30 s (connection-watch.ts;
 * members are watched by the probes, which run on kept streams). Same code, same protocol.
 */
export const INPROC_SETTINGS: Partial<MembershipSettings> = {
  probe_interval_ms: 500,
  probe_timeout_ms: 1000,
  gossip_interval_ms: 1000,
  connection_ping_interval_ms: 30_000,
  dial_timeout_ms: 10_000,
};

/**
 * The simulation's connections: @libp2p/memory, plaintext instead of noise, no private-network
 * cipher (sim/bench/membership-connection-cost.ts measures both stacks). Encryption is the
 * same per-connection and per-byte cost at any cluster size; with a hundred members in one
 * process it would be paid at both ends on one core and hide how the protocol itself scales.
 */
export const INPROC_NOTE = 'members over @libp2p/memory with plaintext and no pnet (simulation only; real nodes use TCP + pnet + noise, about 2x the CPU per connection: sim/bench/membership-connection-cost.ts)';

const now = () => performance.now();
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = now() + ms;
  while (!ok()) {
    if (now() > end) return false;
    await sleep(50);
  }
  return true;
}

interface Wire {
  rpcOut: number;
  rpcIn: number;
  pingsIn: number;
}
const wires = new WeakMap<Cluster, Wire>();

/**
 * Bench-only instrumentation of the running libp2p services: gossipsub RPC frames each way and
 * inbound pings (probes, and connection-watch.ts's pings of non-members), so the rate counts every message on the wire,
 * not only the membership layer's own.
 */
async function instrument(c: Cluster): Promise<void> {
  const w: Wire = { rpcOut: 0, rpcIn: 0, pingsIn: 0 };
  wires.set(c, w);
  const ps = c.libp2p.services.pubsub as unknown as { sendRpc(id: string, rpc: unknown): boolean; handleReceivedRpc(from: unknown, rpc: unknown): Promise<void> };
  const send = ps.sendRpc.bind(ps);
  ps.sendRpc = (id, rpc) => {
    const ok = send(id, rpc);
    if (ok) w.rpcOut++;
    return ok;
  };
  const recv = ps.handleReceivedRpc.bind(ps);
  ps.handleReceivedRpc = (from, rpc) => {
    w.rpcIn++;
    return recv(from, rpc);
  };
  const ping = c.libp2p.services.ping as unknown as { protocol: string; handlePing(stream: Stream, connection: Connection): Promise<void> };
  await c.libp2p.unhandle(ping.protocol);
  await c.libp2p.handle(
    ping.protocol,
    (stream, connection) => {
      w.pingsIn++;
      return ping.handlePing(stream, connection);
    },
    { maxInboundStreams: 64, runOnLimitedConnection: false },
  );
}

function counters(c: Cluster): { out: number; in: number; gossipIn: number } {
  const w = wires.get(c)!;
  const t = c.membership.transport;
  // An inbound ping is answered with a pong: one message each way.
  return { out: t.sent + w.rpcOut + w.pingsIn, in: t.received + w.rpcIn + w.pingsIn, gossipIn: c.membership.counters.received };
}

/** Members listed alive or suspect in this node's table (cheap: no views built; polled often). */
function listed(c: Cluster): number {
  let k = 0;
  for (const m of c.membership.table.all()) if (m.status === 'alive' || m.status === 'suspect') k++;
  return k;
}

function allAliveIn(c: Cluster, n: number): boolean {
  const all = c.membership.table.all();
  return all.length === n && all.every((m) => m.status === 'alive');
}

export interface InprocOptions {
  settings?: Partial<MembershipSettings>;
  rateWindowMs: number;
  /** Wait between convergence and the steady-state window (default 5 s). */
  settleMs?: number;
  /** memory (default): @libp2p/memory; tcp: real sockets on 127.0.0.1. */
  transport?: 'tcp' | 'memory';
  /** plaintext (default) or noise: see INPROC_NOTE. */
  encryption?: 'plaintext' | 'noise';
  log?: (s: string) => void;
}

export async function runInproc(n: number, opts: InprocOptions): Promise<InprocResult> {
  const mem = (opts.transport ?? 'memory') === 'memory';
  const plaintext = (opts.encryption ?? 'plaintext') === 'plaintext';
  const log = opts.log ?? (() => {});
  const psk = pskFromSecret('5e'.repeat(32));
  const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' });
  const tag = randomUUID().slice(0, 8);
  // Large in-process clusters are CPU-bound on 2 cores: every periodic cost is relaxed here
  // (INPROC_SETTINGS); membership probes do the detecting.
  const settings: Partial<MembershipSettings> = { ...INPROC_SETTINGS };
  Object.assign(settings, opts.settings);
  const clusters: Cluster[] = [];
  const stalls = monitorEventLoopDelay({ resolution: 20 });
  stalls.enable();
  const startCpu = process.cpuUsage();
  const t0 = now();
  const addr = (i: number) => (mem ? `/memory/${tag}-${i}` : clusters[i]!.member(clusters[i]!.nodeId)!.address);
  const startOne = async (i: number, started: number) => {
    // Seeds: two random nodes already up, so 100 joiners do not all queue on one.
    const peers = i === 0 ? [] : [...new Set([addr(Math.floor(Math.random() * started)), addr(Math.floor(Math.random() * started))])];
    const name = `m${String(i).padStart(3, '0')}`;
    const c = await startCluster({
      nodeId: randomUUID(),
      nodeName: name,
      role: 'traditional',
      version: 'bench',
      prefix: os.tmpdir(),
      listen: [{ host: '127.0.0.1', port: 0 }],
      advertise: null,
      peers,
      psk,
      settings,
      logger: logger.child({ node: name }),
      privateKey: await generateKeyPair('Ed25519'),
      memoryName: mem ? `${tag}-${i}` : undefined,
      plaintext,
    });
    await instrument(c);
    return c;
  };
  // The seed first, then the others in batches (a real cluster's nodes start concurrently too).
  clusters.push(await startOne(0, 0));
  for (let i = 1; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => startOne(i + j, i)));
    clusters.push(...batch);
    if (clusters.length % 20 === 1 || clusters.length === n) log(`    ${clusters.length} started after ${((now() - t0) / 1000).toFixed(1)} s (${(cpuMs(process.cpuUsage(startCpu)) / 1000).toFixed(1)} s of CPU)`);
  }
  const startMs = now() - t0;
  // Stalls while building the hosts are the simulation's own start-up; count from here on.
  stalls.reset();
  const startCpuMs = cpuMs(process.cpuUsage(startCpu));
  {
    const sum = (f: (c: Cluster) => number) => clusters.reduce((x, c) => x + f(c), 0);
    log(`  start-up work, all nodes: ${sum((c) => c.membership.counters.published)} gossip published, ${sum((c) => c.membership.counters.received)} delivered, ${sum((c) => wires.get(c)!.rpcIn)} gossipsub frames in, ${sum((c) => c.membership.counters.syncs)} push-pulls, ${sum((c) => c.libp2p.getConnections().length) / 2} connections open`);
  }
  log(`  ${n} nodes started in ${(startMs / 1000).toFixed(1)} s (${(startCpuMs / 1000).toFixed(1)} s of CPU)`);
  const t1 = now();
  // The same member list on every node: all n members, none failed. A member under suspicion
  // is still a member (memberlist's Members() lists it too); the moment when also nobody is
  // suspected anywhere is reported beside it.
  const converged = await until(() => clusters.every((c) => listed(c) === n), 60_000);
  const convergeMs = converged ? now() - t1 : NaN;
  log(`  converged in ${converged ? (convergeMs / 1000).toFixed(2) + ' s' : 'NOT within 60 s'}`);
  const allAlive = converged && (await until(() => clusters.every((c) => allAliveIn(c, n)), 20_000));
  const allAliveMs = allAlive ? now() - t1 : NaN;
  log(`  every member alive on every node at once: ${allAlive ? (allAliveMs / 1000).toFixed(2) + ' s' : 'not within 20 s more'}`);
  if (!converged) {
    const counts = clusters.map(listed);
    const hist = new Map<number, number>();
    for (const k of counts) hist.set(k, (hist.get(k) ?? 0) + 1);
    log(`  alive members seen (count: nodes): ${[...hist].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    const st: Record<string, number> = {};
    for (const c of clusters) for (const m of c.members()) st[m.status] = (st[m.status] ?? 0) + 1;
    log(`  statuses over all views: ${JSON.stringify(st)} (of ${n * n})`);
    const sum = (k: 'syncs' | 'sync_failures') => clusters.reduce((x, c) => x + c.membership.counters[k], 0);
    log(`  push-pulls: ${sum('syncs')} ok, ${sum('sync_failures')} failed`);
  }
  const conns = clusters.map((c) => c.libp2p.getConnections().length);
  log(`  connections per node: avg ${(conns.reduce((a, b) => a + b, 0) / n).toFixed(1)}, max ${Math.max(...conns)}`);

  // Steady-state message rate: nothing happening but probing, push-pull and gossip upkeep,
  // after the connections of the final ring neighbourhoods have been opened.
  await sleep(opts.settleMs ?? 5000);
  let falseFailures = 0;
  for (const c of clusters) c.on('member-failed', () => falseFailures++);
  const before = clusters.map(counters);
  const coldBefore = clusters.map((c) => ({ ...c.membership.transport.cold }));
  let opened = 0;
  const onOpen = () => opened++;
  const dialers = new Map<string, number>();
  if (process.env.BENCH_WHO_DIALS) {
    for (const c of clusters) {
      const cm = (c.libp2p as unknown as { components: { connectionManager: { openConnection(p: unknown, o?: unknown): Promise<unknown>; getConnections(p?: unknown): unknown[] } } }).components.connectionManager;
      const orig = cm.openConnection.bind(cm);
      cm.openConnection = (peer, o) => {
        if (typeof peer === 'object' && peer && 'toMultihash' in peer && cm.getConnections(peer).length === 0) {
          const site = (new Error().stack ?? '').split('\n').slice(2).filter((l) => !l.includes('node:internal')).slice(0, 4).map((l) => l.trim().replace(/^at /, '').replace(/\(.*node_modules\//, '(').replace(/\(file:\/\/\/work\/main\//, '(')).join(' < ');
          dialers.set(site, (dialers.get(site) ?? 0) + 1);
        }
        return orig(peer, o);
      };
    }
  }
  for (const c of clusters) c.libp2p.addEventListener('connection:open', onOpen);
  const cpu0 = process.cpuUsage();
  const w0 = now();
  // BENCH_PROFILE=<file>: a V8 CPU profile of the steady-state window only (not start-up).
  const profiler = process.env.BENCH_PROFILE ? new inspector.Session() : null;
  if (profiler) {
    profiler.connect();
    await new Promise((r) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)));
  }
  await sleep(opts.rateWindowMs);
  if (profiler) {
    const { profile } = await new Promise<{ profile: unknown }>((r, j) => profiler.post('Profiler.stop', (err, res) => (err ? j(err) : r(res as { profile: unknown }))));
    fs.writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
  }
  const secs = (now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = clusters.map(counters);
  for (const c of clusters) c.libp2p.removeEventListener('connection:open', onOpen);
  const coldSum: Record<string, number> = {};
  clusters.forEach((c, i) => {
    for (const [k, v] of Object.entries(c.membership.transport.cold)) coldSum[k] = (coldSum[k] ?? 0) + v - coldBefore[i]![k as keyof typeof c.membership.transport.cold];
  });
  for (const [site, k] of [...dialers].sort((x, y) => y[1] - x[1]).slice(0, 8)) log(`    ${k} cold dials from ${site}`);
  log(`  connections opened in the window: ${opened} (each counted at both ends); requests that dialled first: ${JSON.stringify(coldSum)}`);
  const rate = (k: 'out' | 'in' | 'gossipIn') => after.map((a, i) => (a[k] - before[i]![k]) / secs);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const outs = rate('out');
  const ins = rate('in');
  const gossipIn = avg(rate('gossipIn'));
  const connsPerNode = avg(clusters.map((c) => c.libp2p.getConnections().length));
  const cpuPct = ((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  log(`  steady state per node: ${avg(outs).toFixed(2)} msgs/s out (max ${Math.max(...outs).toFixed(2)}), ${avg(ins).toFixed(2)} in (max ${Math.max(...ins).toFixed(2)}), membership gossip delivered ${gossipIn.toFixed(2)}/s, ${connsPerNode.toFixed(1)} connections; process CPU ${cpuPct.toFixed(0)}% of a core, RSS ${rss.toFixed(0)} MB`);
  const falseBefore = falseFailures;

  // Kill one member (no `left`): how long until the first and the last survivor mark it failed.
  const victim = clusters[Math.floor(n / 2)]!;
  const vid = victim.nodeId;
  const survivors = clusters.filter((c) => c !== victim);
  for (const c of survivors) c.off('member-failed', () => {});
  const tk = now();
  await victim.stop({ leave: false });
  let first: number | null = null;
  const ok = await until(() => {
    const k = survivors.filter((c) => c.member(vid)?.status === 'failed').length;
    if (k > 0 && first === null) first = now() - tk;
    return k === survivors.length;
  }, 30_000);
  const all = ok ? now() - tk : null;
  log(`  killed member failed on first survivor after ${first !== null ? (first / 1000).toFixed(2) : '-'} s, on all ${survivors.length} after ${all !== null ? (all / 1000).toFixed(2) + ' s' : 'NOT within 30 s'}`);

  await Promise.all(survivors.map((c) => c.stop({ leave: false }).catch(() => {})));
  stalls.disable();
  const maxStallMs = Math.round(stalls.max / 1e6);
  log(`  longest event-loop stall after the start: ${(maxStallMs / 1000).toFixed(2)} s${maxStallMs > 1000 ? ' (over a second: the wall-clock figures above are inflated by it)' : ''}`);
  return {
    nodes: n,
    start_ms: Math.round(startMs),
    converge_ms: Math.round(convergeMs),
    all_alive_ms: Math.round(allAliveMs),
    kill_detect_ms: first !== null ? Math.round(first) : null,
    kill_detect_all_ms: all !== null ? Math.round(all) : null,
    msgs_out_per_node_per_s: Number(avg(outs).toFixed(2)),
    msgs_out_max_node_per_s: Number(Math.max(...outs).toFixed(2)),
    msgs_in_per_node_per_s: Number(avg(ins).toFixed(2)),
    msgs_in_max_node_per_s: Number(Math.max(...ins).toFixed(2)),
    gossip_in_per_node_per_s: Number(gossipIn.toFixed(2)),
    connections_per_node: Number(connsPerNode.toFixed(1)),
    false_failures: falseBefore,
    rss_mb: Math.round(rss),
    cpu_pct: Math.round(cpuPct),
    max_stall_ms: maxStallMs,
  };
}
