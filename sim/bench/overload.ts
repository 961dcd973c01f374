// `npm run bench:overload [-- --seconds 60] [--quick]`: one node (DB-less, worker_processes = 1)
// in front of an nginx upstream, first measured closed-loop for its capacity C (wrk), then fed
// open-loop at 2 x C and 5 x C for --seconds each. Printed per phase: what the generator offered,
// what was served and failed, latency of the served requests, the node's peak RSS, and how long
// GET /status on the Admin API took at worst (probed every 250 ms; load balancers depend on it,
// goal <= 1 s); then how soon the node serves at full throughput again (goal <= 5 s), by
// closed-loop one-second samples against C. The node has a core of its own; the open-loop
// generator (overload-generator.ts), wrk and the upstream share the other, so C is one node on one
// core and the generator can offer 5 x C (the rate it offered is printed, not assumed).
import '../../src/polyfill.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../../src/db/embedded.ts';
import { nodeEnv } from '../../src/up/nodes.ts';
import { fileURLToPath } from 'node:url';
import { descendants, rssMb } from './proc.ts';
import { pct } from './stats.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const SECONDS = args.includes('--seconds') ? Number(args[args.indexOf('--seconds') + 1]) : QUICK ? 15 : 60;
const log = (s: string) => console.error(`[bench:overload] ${s}`);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../../bin/gossamer.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Closed-loop requests per second (wrk, 1 thread, 50 connections). */
function wrkRate(url: string, seconds: number): number {
  const out = execFileSync(...pinned(CORES?.load, 'wrk', ['-t1', '-c50', `-d${seconds}s`, url])).toString();
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk gave no rate:\n${out}`);
  return Number(m[1]);
}

interface Phase {
  name: string;
  offered: number;
  offeredRate: number;
  served: number;
  non200: number;
  timedOut: number;
  closedUnanswered: number;
  /** Median of the requests answered 200 per second while the load ran. */
  servedRate: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  statusWorstMs: number;
}

/** Connections the generator spreads its requests over, and how long a client waits for an answer. */
const CONNECTIONS = 256;
const CLIENT_TIMEOUT_S = 10;

/**
 * Open loop at `rate` for `seconds` by overload-generator.ts, pinned to the generator's core:
 * every due request is written, answered or not (see that file), so the node sees the whole rate.
 */
async function openLoad(url: URL, statusUrl: string, rate: number, seconds: number, pid: number, name: string): Promise<Phase> {
  let peak = 0;
  // /status is timed by a process of its own (status-probe.ts); RSS is sampled here.
  const prober = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'status-probe.ts'), statusUrl, '250'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let probeOut = '';
  prober.stdout!.on('data', (d) => (probeOut += d));
  const probe = setInterval(() => {
    peak = Math.max(peak, descendants(pid).reduce((s, p) => s + rssMb(p), 0));
  }, 250);
  const genArgs = [url.hostname, url.port, String(Math.round(rate)), String(seconds), String(CONNECTIONS), String(CLIENT_TIMEOUT_S)];
  const gen = spawn(...pinned(CORES?.load, process.execPath, ['--import', 'tsx', path.join(HERE, 'overload-generator.ts'), ...genArgs]), { stdio: ['ignore', 'pipe', 'inherit'] });
  let genOut = '';
  gen.stdout!.on('data', (d) => (genOut += d));
  await new Promise((resolve) => gen.once('exit', resolve));
  clearInterval(probe);
  const g = JSON.parse(genOut.trim()) as { offered: number; offeredRate: number; served: number; non200: number; timedOut: number; closedUnanswered: number; p50: number; p99: number; servedPerSecond: number[] };
  const probed = await new Promise<{ worstMs: number; over1s: number; failed: number; probes: number }>((resolve) => {
    prober.once('exit', () => resolve(JSON.parse(probeOut.trim() || '{"worstMs":0,"over1s":0,"failed":0,"probes":0}')));
    prober.kill('SIGTERM');
  });
  const statusWorstMs = probed.failed > 0 ? Math.max(probed.worstMs, 5000) : probed.worstMs;
  const perSecond = g.servedPerSecond.slice(1, seconds); // whole seconds only
  return { name, ...g, servedRate: pct(perSecond, 50), peakRssMb: peak, statusWorstMs };
}

/**
 * The node gets a core of its own; the generator, wrk, the upstream and the probes share the
 * other. Without taskset or with one core, nothing is pinned (the figures then say so).
 */
const CORES = os.cpus().length >= 2 && hasTaskset() ? { node: '0', load: '1' } : null;
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
function pinned(core: string | undefined, cmd: string, argv: string[]): [string, string[]] {
  return CORES && core !== undefined ? ['taskset', ['-c', core, cmd, ...argv]] : [cmd, argv];
}

function startUpstream(port: number, dir: string): ChildProcess {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `worker_processes 1; daemon off; pid ${dir}/nginx.pid; events { worker_connections 4096; }\nhttp { access_log off; server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }\n`);
  return spawn(...pinned(CORES?.load, 'nginx', ['-c', conf, '-p', dir, '-e', path.join(dir, 'error.log')]), { stdio: 'ignore' });
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
  const node = spawn(...pinned(CORES?.node, process.execPath, [BIN, 'start', '-c', confFile]), { env: nodeEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
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
      phases.push(await openLoad(new URL(url), statusUrl, k * capacity, SECONDS, node.pid!, `${k} x C`));
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
    const where = CORES ? `node pinned to core ${CORES.node}; generator, wrk, upstream on core ${CORES.load}` : 'nothing pinned (no taskset or one core)';
    console.log(`\nbench:overload  one node (1 worker) behind an nginx upstream; ${where}; capacity C = ${capacity.toFixed(0)} req/s; loadavg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`open loop: every due request written (pipelined over ${CONNECTIONS} connections); a connection with an answer older than ${CLIENT_TIMEOUT_S} s is closed and replaced`);
    console.log('| phase | offered (req/s) | served 200 | served per s (median) / C | other status | timed out | closed unanswered | p50 ms | p99 ms | peak RSS MB | worst /status ms (goal <= 1000) |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of phases) {
      console.log(`| ${p.name} | ${p.offered} (${p.offeredRate.toFixed(0)}) | ${p.served} | ${p.servedRate.toFixed(0)} / ${(p.servedRate / capacity).toFixed(2)} | ${p.non200} | ${p.timedOut} | ${p.closedUnanswered} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.peakRssMb.toFixed(0)} | ${p.statusWorstMs.toFixed(0)} ${p.statusWorstMs <= 1000 ? '(met)' : '(NOT met)'} |`);
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
