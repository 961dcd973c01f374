// `npm run bench:dbless [-- --routes N --consumers N --workers N --keep]`: POST /config on a
// DB-less node serving traffic. One real node process (database = off), an echo upstream, and
// client loops proxying a route that every configuration keeps, while whole configurations are
// posted: a reference one a tenth of the size, then the full one (default 10,000 routes and
// 10,000 consumers with a key-auth credential each), then the full one again with every id
// new (a replacement of equal size). Printed: time to apply (POST sent → 201, which comes once
// every worker serves it), the CPU time the primary and the workers used meanwhile (a figure
// that holds on a busy machine, where the time to apply does not), the node's peak RSS (primary + workers) during each apply, failed
// proxied requests during the swaps, and each apply's time as a ratio of the reference's.
// `--profile DIR`: the node runs its sources (GOSSAMER_NO_BUNDLE=1) under --cpu-prof, primary and
// workers, profiles written to DIR (read them with sim/bench/cpu-profile-summary.ts).
// Goal (issue 14): 0 failed requests, full apply < 3 s (Kong/kong#6811: ~10 s for 5,000 routes).
import '../../src/polyfill.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../src/db/embedded.ts';
import { startEchoServer, type EchoServer } from '../../src/up/echo.ts';
import { SimNode } from '../harness/node-process.ts';
import { proxiedStatus } from '../harness/admin-call.ts';
import { cpuSeconds, descendants, rssMb } from './proc.ts';
import { dblessConfiguration } from './dbless-body.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : dflt);
const ROUTES = opt('routes', 10_000);
const CONSUMERS = opt('consumers', ROUTES);
const WORKERS = opt('workers', 2);
const CLIENTS = opt('clients', 4);
const KEEP = args.includes('--keep');
const PROFILE = args.includes('--profile') ? path.resolve(args[args.indexOf('--profile') + 1]!) : null;
const say = (s: string) => process.stdout.write(s + '\n');

/** A wrapper that puts --cpu-prof between node and the script SimNode runs (as bench:idle does). */
function profileWrapper(tmp: string, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(tmp, 'cpu-prof.sh');
  fs.writeFileSync(script, `#!/bin/sh\nnode="$1"; shift\nGOSSAMER_NO_BUNDLE=1 exec "$node" --cpu-prof --cpu-prof-dir=${JSON.stringify(dir)} "$@"\n`, { mode: 0o755 });
  return [script];
}

const configuration = dblessConfiguration;

interface Apply {
  label: string;
  /** performance.now() when the POST was sent. */
  t0: number;
  routes: number;
  consumers: number;
  bytes: number;
  ms: number;
  /** CPU time (user + system) the primary and the workers (together, serving traffic too) used from POST to 201. */
  cpuPrimaryMs: number;
  cpuWorkersMs: number;
  status: number;
  peakRssMb: number;
  failed: number;
  requests: number;
}

async function apply(node: SimNode, label: string, routes: number, consumers: number, body: string, traffic: Traffic): Promise<Apply> {
  const before = traffic.snapshot();
  let peak = 0;
  const sample = () => (peak = Math.max(peak, descendants(node.pid!).reduce((n, pid) => n + rssMb(pid), 0)));
  const sampler = setInterval(sample, 50);
  const cpu = () => {
    const [primary, ...workers] = descendants(node.pid!);
    return { primary: cpuSeconds(primary!), workers: workers.reduce((n, pid) => n + cpuSeconds(pid), 0) };
  };
  const cpu0 = cpu();
  const t0 = performance.now();
  const r = await fetch(`${node.adminUrl}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(120_000) });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  const cpu1 = cpu();
  clearInterval(sampler);
  sample();
  const after = traffic.snapshot();
  return { label, t0, routes, consumers, bytes: body.length, ms, cpuPrimaryMs: (cpu1.primary - cpu0.primary) * 1000, cpuWorkersMs: (cpu1.workers - cpu0.workers) * 1000, status: r.status, peakRssMb: peak, failed: after.failed - before.failed, requests: after.requests - before.requests };
}

interface Traffic {
  snapshot(): { requests: number; failed: number };
  failures(): Map<number, number>;
  stop(): Promise<void>;
}

/** CLIENTS loops proxying /stay back to back; any answer but 200 (or none within 5 s) is a failure. */
function startTraffic(node: SimNode): Traffic {
  let requests = 0;
  let failed = 0;
  let running = true;
  /** Failed requests by status (0: no answer within 5 s, or the connection failed). */
  const failures = new Map<number, number>();
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const s = await proxiedStatus(node, '/stay', 5000);
      requests++;
      if (s !== 200) {
        failed++;
        failures.set(s, (failures.get(s) ?? 0) + 1);
      }
    }
  });
  return {
    snapshot: () => ({ requests, failed }),
    failures: () => failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-dbless-'));
  let echo: EchoServer | undefined;
  let node: SimNode | undefined;
  try {
    echo = await startEchoServer({ port: await freePort() });
    const ports = { proxy: await freePort(), admin: await freePort(), cluster: await freePort() };
    node = new SimNode({
      name: 'dbless-bench',
      dir: path.join(tmp, 'node'),
      ports,
      onState: () => {},
      ...(PROFILE ? { wrap: profileWrapper(tmp, PROFILE) } : {}),
      config: {
        database: 'off',
        proxy_listen: `127.0.0.1:${ports.proxy}`,
        admin_listen: `127.0.0.1:${ports.admin}`,
        cluster_listen: `127.0.0.1:${ports.cluster}`,
        worker_processes: WORKERS,
        log_level: process.env.BENCH_LOG_LEVEL ?? 'warn',
      },
    });
    await node.start();
    const small = [Math.max(1, Math.round(ROUTES / 10)), Math.max(0, Math.round(CONSUMERS / 10))] as const;
    // The node serves /stay before the measured applies, so every failure counted is the swap's.
    const first = await fetch(`${node.adminUrl}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: configuration(0, 0, echo.port, 'warm') });
    if (first.status !== 201) throw new Error(`warm-up POST /config answered ${first.status}: ${await first.text()}`);
    const traffic = startTraffic(node);
    const results: Apply[] = [];
    results.push(await apply(node, 'reference (a tenth)', small[0], small[1], configuration(small[0], small[1], echo.port, 'ref'), traffic));
    results.push(await apply(node, 'full', ROUTES, CONSUMERS, configuration(ROUTES, CONSUMERS, echo.port, 'full'), traffic));
    results.push(await apply(node, 'full, every id new', ROUTES, CONSUMERS, configuration(ROUTES, CONSUMERS, echo.port, randomUUID().slice(0, 8)), traffic));
    await traffic.stop();
    const ref = results[0]!.ms;
    say(`\nPOST /config on a DB-less node serving traffic (${WORKERS} workers, ${CLIENTS} client loops on a route every configuration keeps)\n`);
    say('| apply | routes | consumers | body | status | time to apply | × reference | CPU primary | CPU workers (all, serving too) | peak RSS (primary + workers) | proxied requests during it | failed |');
    say('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      say(`| ${r.label} | ${r.routes} | ${r.consumers} | ${(r.bytes / 1e6).toFixed(1)} MB | ${r.status} | ${r.ms.toFixed(0)} ms | ${(r.ms / ref).toFixed(1)} | ${r.cpuPrimaryMs.toFixed(0)} ms | ${r.cpuWorkersMs.toFixed(0)} ms | ${r.peakRssMb.toFixed(0)} MB | ${r.requests} | ${r.failed} |`);
    }
    const total = traffic.snapshot();
    say(`\nfailed proxied requests over the whole run: ${total.failed} of ${total.requests}${total.failed ? ` (by status, 0 = no answer: ${[...traffic.failures()].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`);
    if (results.some((r) => r.status !== 201)) process.exitCode = 1;
    if (PROFILE) {
      // The profiles end when the node stops, right after this: each apply as --from/--to for cpu-profile-summary.ts.
      const end = performance.now();
      for (const r of results) say(`profile window of "${r.label}": --from ${((r.t0 - end) / 1000).toFixed(1)} --to ${((r.t0 + r.ms - end) / 1000).toFixed(1)}`);
      say(`profiles in ${PROFILE}`);
    }
  } finally {
    await node?.stop(10_000).catch(() => {});
    node?.reap();
    await echo?.close();
    if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else say(`kept ${tmp}`);
  }
}

await main();
