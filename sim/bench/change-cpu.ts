// `npm run bench:change-cpu [-- --nodes 10 --changes 20 --every 500]`: what
// one configuration change costs every node of an idle cluster, in CPU. N real `gossamer
// start` processes (worker_processes = 1) on one Postgres, plain loopback (idle-cluster.ts);
// after 30 warm-up changes and 20 s of rest, CPU is read from /proc over a window of rest and
// a window with a route created every --every ms on a node other than n1; per change per
// node = (changes window − the rest's rate over its length) / changes / nodes, for the primaries and
// for the proxy workers. The same is measured side by side with `cluster_gossip_events = off`
// (Kong's mode: every node learns a change from its db_update_frequency poll) as the reference.
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminCall } from '../harness/admin-call.ts';
import { startIdleCluster, type IdleCluster } from './idle-cluster.ts';
import { cpuOfAll, cpuSeconds, descendants } from './proc.ts';

const args = process.argv.slice(2);
const num = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const NODES = num('--nodes', 10);
const CHANGES = num('--changes', 20);
const EVERY_MS = num('--every', 500);
const WARMUP = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ms so far of every node's primary and of its workers, summed over the nodes. */
function cpu(c: IdleCluster): { primary: number; workers: number } {
  let primary = 0;
  let workers = 0;
  for (const n of c.nodes) {
    const [p, ...w] = descendants(n.pid!);
    primary += cpuSeconds(p!) * 1000;
    workers += cpuOfAll(w) * 1000;
  }
  return { primary, workers };
}

async function changes(c: IdleCluster, serviceId: string, tag: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    // n1 is never the writer: the Admin API's own work stays out of most nodes' figures.
    const writer = c.nodes[1 + (i % (c.nodes.length - 1))]!;
    await adminCall(writer, 'POST', '/routes', { paths: [`/${tag}-${i}`], service: { id: serviceId } });
    await sleep(EVERY_MS);
  }
}

async function measure(label: string, config: Record<string, string | number | boolean>): Promise<{ primary: number; workers: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-change-cpu-'));
  const c = await startIdleCluster({ n: NODES, dir, config, convergeTimeoutMs: 180_000 });
  try {
    const svc = (await adminCall(c.nodes[0]!, 'POST', '/services', { name: 'change-cpu', url: 'http://127.0.0.1:9' })) as { id: string };
    await changes(c, svc.id, 'warm', WARMUP);
    await sleep(20_000);
    const windowMs = CHANGES * EVERY_MS;
    const a = cpu(c);
    await sleep(windowMs);
    const b = cpu(c);
    const t0 = Date.now();
    await changes(c, svc.id, 'x', CHANGES);
    // The writes themselves take time: the rest's share is its rate over the window's real length.
    const elapsed = Date.now() - t0;
    const d = cpu(c);
    const per = (k: 'primary' | 'workers') => (d[k] - b[k] - ((b[k] - a[k]) * elapsed) / windowMs) / CHANGES / NODES;
    const out = { primary: per('primary'), workers: per('workers') };
    console.log(`  ${label}: at rest ${((b.primary - a.primary + b.workers - a.workers) / windowMs / NODES * 100).toFixed(1)} % of a core per node; per change per node: primary ${out.primary.toFixed(1)} ms, worker ${out.workers.toFixed(1)} ms of CPU`);
    return out;
  } finally {
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`change-cpu: ${NODES} nodes on plain loopback, ${CHANGES} route changes ${EVERY_MS} ms apart after ${WARMUP} to warm up; ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const gossip = await measure('gossip (default)', {});
const poll = await measure('Kong\'s mode (cluster_gossip_events = off, db_update_frequency 5 s)', { cluster_gossip_events: false });
const total = (x: { primary: number; workers: number }) => x.primary + x.workers;
console.log(`  ratio gossip / Kong's mode: ${(total(gossip) / total(poll)).toFixed(2)} (CPU per change per node, primary + worker)`);
