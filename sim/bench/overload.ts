// `npm run bench:overload [-- --seconds 60] [--quick]`: one node (DB-less, worker_processes = 1)
// in front of an nginx upstream, first measured closed-loop for its capacity C (wrk), then fed
// open-loop at 2 x C and 5 x C for --seconds each. Printed per phase: what the generator offered,
// what was served and failed, latency of the served requests, the node's peak RSS, and how long
// GET /status on the Admin API took at worst (probed every 250 ms; load balancers depend on it,
// goal <= 1 s); then how soon the node serves at full throughput again (goal <= 5 s), by
// closed-loop one-second samples against C. The open-loop generator runs in this process and
// shares the machine's cores with the node: its achieved rate is reported, not assumed.
import '../../src/polyfill.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../../src/db/embedded.ts';
import { fileURLToPath } from 'node:url';
import { descendants, rssMb } from './proc.ts';
import { pct } from './stats.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const SECONDS = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : QUICK ? 15 : 60;
const log = (s: string) => console.error(`[bench:overload] ${s}`);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../../bin/gossamer.js');

/** This environment without GOSSAMER_* / KONG_* settings: the node reads its file only. */
function cleanEnvForBench(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GOSSAMER_') && !k.startsWith('KONG_')));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Closed-loop requests per second (wrk, 1 thread, 50 connections). */
function wrkRate(url: string, seconds: number): number {
  const out = execFileSync('wrk', ['-t1', '-c50', `-d${seconds}s`, url]).toString();
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk gave no rate:\n${out}`);
  return Number(m[1]);
}

interface Phase {
  name: string;
  offered: number;
  shed: number;
  served: number;
  failed: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  statusWorstMs: number;
  achievedRate: number;
}

/** Most requests in flight at once: past it a due request is counted as shed by the client instead of queued in memory. */
const MAX_IN_FLIGHT = 4096;

/**
 * Open loop at `rate` for `seconds`: requests are started on schedule whatever the answers do,
 * up to MAX_IN_FLIGHT at once (a generator holding millions of queued requests would measure
 * itself, not the node); what is due beyond that is counted as shed.
 */
async function openLoad(url: string, statusUrl: string, rate: number, seconds: number, pid: number, name: string): Promise<Phase> {
  const agent = new Agent({ connections: MAX_IN_FLIGHT, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  let failed = 0;
  let offered = 0;
  let shed = 0;
  let inFlight = 0;
  let peak = 0;
  let statusWorst = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  // /status is timed by a process of its own (status-probe.ts); RSS is sampled here.
  const prober = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'status-probe.ts'), statusUrl, '250'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let probeOut = '';
  prober.stdout!.on('data', (d) => (probeOut += d));
  const probe = setInterval(() => {
    peak = Math.max(peak, descendants(pid).reduce((s, p) => s + rssMb(p), 0));
  }, 250);
  const done = (t: number) => (r: { statusCode: number; body: { dump(): Promise<void> } }) =>
    r.body.dump().then(() => {
      inFlight--;
      if (r.statusCode === 200) latencies.push(performance.now() - t);
      else failed++;
    });
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - offered - shed;
    for (let i = 0; i < due; i++) {
      if (inFlight >= MAX_IN_FLIGHT) {
        shed++;
        continue;
      }
      offered++;
      inFlight++;
      const t = performance.now();
      request(url, { dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 }).then(done(t), () => {
        inFlight--;
        failed++;
      });
    }
    await new Promise((r) => setImmediate(r));
  }
  while (inFlight > 0) await sleep(50);
  const achievedRate = offered / seconds;
  clearInterval(probe);
  await agent.close();
  const probed = await new Promise<{ worstMs: number; over1s: number; failed: number; probes: number }>((resolve) => {
    prober.once('exit', () => resolve(JSON.parse(probeOut.trim() || '{"worstMs":0,"over1s":0,"failed":0,"probes":0}')));
    prober.kill('SIGTERM');
  });
  statusWorst = probed.failed > 0 ? Math.max(probed.worstMs, 5000) : probed.worstMs;
  return { name, offered, shed, served: latencies.length, failed, p50: pct(latencies, 50), p99: pct(latencies, 99), peakRssMb: peak, statusWorstMs: statusWorst, achievedRate };
}

function startUpstream(port: number, dir: string): ChildProcess {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `worker_processes 1; daemon off; pid ${dir}/nginx.pid; events { worker_connections 4096; }\nhttp { access_log off; server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }\n`);
  return spawn('nginx', ['-c', conf, '-p', dir, '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-overload-'));
  const upPort = await freePort();
  const nginx = startUpstream(upPort, dir);
  const proxyPort = await freePort();
  const adminPort = await freePort();
  fs.writeFileSync(path.join(dir, 'kong.yml'), `_format_version: "3.0"\nservices:\n- name: up\n  url: http://127.0.0.1:${upPort}\n  routes:\n  - name: all\n    paths: ["/"]\n`);
  const confFile = path.join(dir, 'node.conf');
  fs.writeFileSync(confFile, `database = off\ndeclarative_config = ${path.join(dir, 'kong.yml')}\nprefix = ${path.join(dir, 'node')}\nnode_name = overload\nproxy_listen = 127.0.0.1:${proxyPort}\nadmin_listen = 127.0.0.1:${adminPort}\ncluster_listen = 127.0.0.1:${await freePort()}\nworker_processes = 1\nlog_level = warn\n`);
  const node = spawn(process.execPath, [BIN, 'start', '-c', confFile], { env: cleanEnvForBench(), stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${proxyPort}/`;
  const statusUrl = `http://127.0.0.1:${adminPort}/status`;
  try {
    for (let i = 0; i < 300; i++) {
      const ok = await request(url).then((r) => r.body.dump().then(() => r.statusCode === 200), () => false);
      if (ok) break;
      await sleep(200);
    }
    wrkRate(url, 2); // warm-up
    const capacity = wrkRate(url, 5);
    log(`capacity (closed loop, wrk -c50): ${capacity.toFixed(0)} req/s`);
    const phases: Phase[] = [];
    for (const k of [2, 5]) {
      log(`open loop at ${k} x capacity (${(k * capacity).toFixed(0)} req/s) for ${SECONDS} s`);
      phases.push(await openLoad(url, statusUrl, k * capacity, SECONDS, node.pid!, `${k} x C`));
      if (node.exitCode !== null) throw new Error(`the node exited during ${k} x C (code ${node.exitCode})`);
    }
    // Recovery: one-second closed-loop samples until one reaches 90 % of C.
    const t0 = performance.now();
    let recoveredMs = -1;
    for (let i = 0; i < 15; i++) {
      if (wrkRate(url, 1) >= 0.9 * capacity) {
        recoveredMs = performance.now() - t0;
        break;
      }
    }
    console.log(`\nbench:overload  one node (1 worker) behind an nginx upstream; capacity C = ${capacity.toFixed(0)} req/s; loadavg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`| phase | sent (req/s) | shed by the generator (over ${MAX_IN_FLIGHT} in flight) | served | failed | p50 ms | p99 ms | peak RSS MB | worst /status ms (goal <= 1000) |`);
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of phases) {
      console.log(`| ${p.name} | ${p.offered} (${p.achievedRate.toFixed(0)}) | ${p.shed} | ${p.served} | ${p.failed} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.peakRssMb.toFixed(0)} | ${p.statusWorstMs.toFixed(0)} ${p.statusWorstMs <= 1000 ? '(met)' : '(NOT met)'} |`);
    }
    console.log(`node still running: ${node.exitCode === null ? 'yes' : 'NO'}; back to >= 90 % of C ${recoveredMs >= 0 ? `within ${(recoveredMs / 1000).toFixed(1)} s of the load stopping (goal <= 5 s: ${recoveredMs <= 5000 ? 'met' : 'NOT met'})` : 'NOT within 15 s'}`);
  } finally {
    node.kill('SIGTERM');
    nginx.kill('SIGTERM');
    await sleep(500);
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
