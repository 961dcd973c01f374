// `npm run bench:http-log-outage [-- --seconds 60 --rate 500]`: http-log with its collector down
// under load. One real node (worker_processes = 1) proxies an open-loop load to a route with
// http-log; the collector answers for a first phase (the reference), is stopped for --seconds,
// then comes back. Printed: proxied requests that failed (goal 0), the node's peak RSS in each
// phase and their ratio (bounded: the queue holds at most queue.max_entries), the dropped
// entries /metrics counts, and whether entries reach the collector again afterwards.
import '../../src/polyfill.ts';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SimCluster } from '../harness/cluster.ts';
import { adminCall } from '../harness/admin-call.ts';
import { descendants, rssMb } from './proc.ts';
import { openLoop } from './ratelimit-load.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const OUTAGE_S = arg('--seconds', 60);
const RATE = arg('--rate', 500);
const REFERENCE_S = Math.min(20, OUTAGE_S);
const log = (s: string) => console.error(`[bench:http-log-outage] ${s}`);

/** A collector that counts the entries it gets; stop() closes it (connections refused). */
async function collector(port = 0) {
  let entries = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const parsed = JSON.parse(body) as unknown;
        entries += Array.isArray(parsed) ? parsed.length : 1;
      } catch {
        // not counted
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    entries: () => entries,
    stop: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

/** Peak RSS (MB) of the node and its workers, sampled every 250 ms while `work` runs. */
async function peakRss(pid: number, work: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void work.finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, descendants(pid).reduce((s, p) => s + rssMb(p), 0));
    await new Promise((r) => setTimeout(r, 250));
  }
  return peak;
}

async function dropped(adminUrl: string): Promise<number> {
  const m = await (await fetch(`${adminUrl}/metrics`)).text();
  return [...m.matchAll(/gossamer_log_entries_dropped_total\{[^}]*plugin="http-log"[^}]*\} (\d+)/g)].reduce((n, x) => n + Number(x[1]), 0);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-httplog-'));
  let col = await collector();
  const c = await SimCluster.start({ nodes: 1, dir, log });
  try {
    const node = c.nodes[0]!;
    await adminCall(node, 'POST', '/services', { name: 'up', url: `http://127.0.0.1:${c.upstream.port}` });
    await adminCall(node, 'POST', '/services/up/routes', { name: 'logged', paths: ['/logged'] });
    await adminCall(node, 'POST', '/routes/logged/plugins', { name: 'http-log', config: { http_endpoint: `http://127.0.0.1:${col.port}/`, queue: { max_batch_size: 50, max_coalescing_delay: 0.2, max_retry_time: 5 } } });
    await new Promise((r) => setTimeout(r, 1500));
    const url = `${node.proxyUrl}/logged`;
    log(`reference: collector up, ${RATE} req/s for ${REFERENCE_S} s`);
    const refLoad = openLoop(url, RATE, REFERENCE_S * 1000);
    const refPeak = await peakRss(node.pid!, refLoad);
    const ref = await refLoad;
    log(`outage: collector down, ${RATE} req/s for ${OUTAGE_S} s`);
    const port = col.port;
    await col.stop();
    const droppedBefore = await dropped(node.adminUrl);
    const outLoad = openLoop(url, RATE, OUTAGE_S * 1000);
    const outPeak = await peakRss(node.pid!, outLoad);
    const out = await outLoad;
    const droppedDuring = (await dropped(node.adminUrl)) - droppedBefore;
    col = await collector(port);
    await openLoop(url, RATE, 5000);
    await new Promise((r) => setTimeout(r, 2000));
    /** Requests that did not get a 200, with their statuses (0: no answer from the node). */
    const failed = (shots: { status: number }[]) => {
      const bad = shots.filter((s) => s.status !== 200);
      const by = new Map<number, number>();
      for (const b of bad) by.set(b.status, (by.get(b.status) ?? 0) + 1);
      return bad.length === 0 ? '0' : `${bad.length} (${[...by].map(([st, n]) => `${n} x ${st}`).join(', ')})`;
    };
    console.log(`\nbench:http-log-outage  ${RATE} req/s open loop, one node (1 worker); loadavg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`reference (collector up, ${REFERENCE_S} s): ${ref.length} requests, ${failed(ref)} failed, peak RSS ${refPeak.toFixed(0)} MB`);
    console.log(`outage (collector down, ${OUTAGE_S} s): ${out.length} requests, ${failed(out)} failed (goal 0), peak RSS ${outPeak.toFixed(0)} MB = ${(outPeak / refPeak).toFixed(2)} x the reference, ${droppedDuring} entries dropped and counted in /metrics`);
    console.log(`after: the collector received ${col.entries()} entries in the 5 s after it came back (${col.entries() > 0 ? 'delivery resumed' : 'NOT resumed'})`);
  } finally {
    await c.stop().catch(() => {});
    await col.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
