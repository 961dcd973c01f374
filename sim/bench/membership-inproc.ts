// bench:membership part (b): many members in ONE process over @libp2p/memory, each with its
// own libp2p host and membership, to measure how the protocol scales: convergence after
// start, detection of a killed member, and the per-node message rate at a given size.
import '../../src/polyfill.ts';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { pskFromSecret, startCluster, type Cluster, type MembershipSettings } from '../../src/cluster/index.ts';

export interface InprocResult {
  nodes: number;
  start_ms: number;
  converge_ms: number;
  kill_detect_ms: number | null;
  kill_detect_all_ms: number | null;
  msgs_per_node_per_s: number;
  gossip_in_per_node_per_s: number;
  false_failures: number;
  rss_mb: number;
  cpu_pct: number;
}

/**
 * Every member of the simulation shares ONE event loop (and here one of two cores), so the
 * per-node costs that are nothing for a real node add up: probes every 500 ms instead of 250,
 * gossipsub heartbeat 1 s, connection-monitor ping 10 s. Same code, same protocol.
 */
export const INPROC_SETTINGS: Partial<MembershipSettings> = {
  probe_interval_ms: 500,
  probe_timeout_ms: 500,
  gossip_interval_ms: 1000,
  connection_ping_interval_ms: 10_000,
  dial_timeout_ms: 10_000,
};

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = now() + ms;
  while (!ok()) {
    if (now() > end) return false;
    await sleep(20);
  }
  return true;
}

function counters(c: Cluster): { sent: number; received: number } {
  return { sent: c.membership.transport.sent + c.membership.counters.published, received: c.membership.counters.received };
}

export async function runInproc(n: number, opts: { settings?: Partial<MembershipSettings>; rateWindowMs: number; transport?: 'tcp' | 'memory'; log?: (s: string) => void }): Promise<InprocResult> {
  const mem = opts.transport === 'memory';
  const log = opts.log ?? (() => {});
  const psk = pskFromSecret('5e'.repeat(32));
  const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' });
  const tag = randomUUID().slice(0, 8);
  // Large in-process clusters are CPU-bound on 2 cores: the connection monitor ping on every
  // connection is the biggest cost, so it is relaxed here (membership probes do the detecting).
  const settings: Partial<MembershipSettings> = { ...INPROC_SETTINGS };
  Object.assign(settings, opts.settings);
  const clusters: Cluster[] = [];
  const t0 = now();
  const addr = (i: number) => (mem ? `/memory/${tag}-${i}` : clusters[i]!.member(clusters[i]!.nodeId)!.address);
  const startOne = async (i: number, started: number) => {
    // Seeds: the first node and one random node already up, so 100 joiners do not all queue on one.
    const peers = i === 0 ? [] : [...new Set([addr(0), addr(Math.floor(Math.random() * started))])];
    const name = `m${String(i).padStart(3, '0')}`;
    return startCluster({
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
    });
  };
  // The seed first, then the others in batches (a real cluster's nodes start concurrently too).
  clusters.push(await startOne(0, 0));
  for (let i = 1; i < n; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => startOne(i + j, i)));
    clusters.push(...batch);
  }
  const startMs = now() - t0;
  log(`  ${n} nodes started in ${(startMs / 1000).toFixed(1)} s`);
  const t1 = now();
  const converged = await until(() => clusters.every((c) => c.members().filter((m) => m.status === 'alive').length === n), 60_000);
  const convergeMs = converged ? now() - t1 : NaN;
  log(`  converged in ${converged ? (convergeMs / 1000).toFixed(2) + ' s' : 'NOT within 60 s'}`);

  // Steady-state message rate: nothing happening but probing, push-pull and gossip upkeep.
  let falseFailures = 0;
  for (const c of clusters) c.on('member-failed', () => falseFailures++);
  const before = clusters.map(counters);
  const cpu0 = process.cpuUsage();
  const w0 = now();
  await sleep(opts.rateWindowMs);
  const secs = (now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = clusters.map(counters);
  const sent = after.reduce((s, a, i) => s + a.sent - before[i]!.sent, 0) / n / secs;
  const received = after.reduce((s, a, i) => s + a.received - before[i]!.received, 0) / n / secs;
  const cpuPct = ((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  log(`  steady state: ${sent.toFixed(2)} membership msgs sent/node/s, ${received.toFixed(2)} gossip msgs received/node/s, CPU ${cpuPct.toFixed(0)}% of a core, RSS ${rss.toFixed(0)} MB`);
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
  return {
    nodes: n,
    start_ms: Math.round(startMs),
    converge_ms: Math.round(convergeMs),
    kill_detect_ms: first !== null ? Math.round(first) : null,
    kill_detect_all_ms: all !== null ? Math.round(all) : null,
    msgs_per_node_per_s: Number(sent.toFixed(2)),
    gossip_in_per_node_per_s: Number(received.toFixed(2)),
    false_failures: falseBefore,
    rss_mb: Math.round(rss),
    cpu_pct: Math.round(cpuPct),
  };
}
