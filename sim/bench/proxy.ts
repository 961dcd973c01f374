// `npm run bench:proxy` (through proxy.sh): the same load against seven proxies in front of one
// nginx upstream, alternating variants round by round, and the cost of each in requests per
// proxy CPU-second read from /proc. Also times the router with 10 vs 10,000 routes.
//   (a) nginx reverse proxy, 1 worker        (b) bare undici Pool.stream proxy
//   (c) bare http-proxy                       (d) gossamer, 1 process, one route, no plugins
//   (e) gossamer + key-auth, rate-limiting, prometheus   (f) gossamer, worker_processes = 2
//   (g) gossamer + jwt, correlation-id, http-log (batches to the nginx upstream)
import '../../src/polyfill.ts';
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/db/embedded.ts';
import { Router } from '../../src/proxy/router.ts';
import type { Service } from '../../src/entities/types.ts';
import { BENCH_JWT, BENCH_KEY, benchRoute } from './proxy-snapshot.ts';
import { cpuOfAll, descendants } from './proc.ts';
import { parseWrk, startNginx, startNode, stopChild, stopOnInterrupt, type Run } from './bench-procs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const DURATION = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20_000);
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 50);
// BENCH_VARIANTS=b,d,e runs only those variants (an A/B loop while tuning: each change judged
// against b measured seconds apart); the half-rate p99, f's worker check and the router timing
// run only when their variants are there and BENCH_EXTRAS is not 0.
const ONLY = process.env.BENCH_VARIANTS ? new Set(process.env.BENCH_VARIANTS.split(',').map((x) => x.trim())) : null;
const EXTRAS = process.env.BENCH_EXTRAS !== '0';
// BENCH_CPU_PROF=dir: the node variants write V8 CPU profiles there when stopped.
const PROF = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-'));

interface Variant {
  key: string;
  label: string;
  port: number;
  rootPid: () => number;
  headers: string[];
  stop: () => Promise<void>;
  child?: ChildProcess;
}


// ---------- measurement ----------


function wrk(port: number, seconds: number, headers: string[], script?: string, conns = CONNS): { out: string } {
  const args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', '--timeout', '10s'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(`http://127.0.0.1:${port}/`);
  return { out: execFileSync('wrk', args, { timeout: (seconds + 30) * 1000 }).toString() };
}

function measure(v: Variant): Run {
  // Warm up by request count, not time: on a busy machine a few seconds may be too few
  // requests for V8 to optimise the hot path, and the run would measure the interpreter.
  let warmed = 0;
  for (let i = 0; i < 10 && warmed < WARMUP_REQUESTS; i++) warmed += parseWrk(wrk(v.port, WARMUP, v.headers).out).requests;
  const pids = descendants(v.rootPid());
  const before = cpuOfAll(pids);
  const { out } = wrk(v.port, DURATION, v.headers);
  const cpuS = cpuOfAll(descendants(v.rootPid())) - before;
  const r = parseWrk(out);
  return { ...r, cpuS, perCpuS: cpuS > 0 ? r.requests / cpuS : 0 };
}

// ---------- router scale ----------

function routerScale(): { n: number; hot: number; nsPerMatch: number }[] {
  // CPU time (not wall time): the machine is shared, wall time would measure the neighbours.
  const svc = { id: 's', enabled: true, path: null } as unknown as Service;
  const out: { n: number; hot: number; nsPerMatch: number }[] = [];
  for (const n of [10, 10_000]) {
    const routes = [];
    for (let i = 0; i < n; i++) routes.push(benchRoute(i, 's', [`/svc${i}/api`], i % 10 === 0 ? [`h${i}.example.com`] : null));
    const router = new Router(routes, () => svc);
    for (const hot of n === 10 ? [10] : [10, 1000]) {
      // `hot` distinct routes hit, 1000 distinct request paths, hostless and host routes mixed.
      const reqs = Array.from({ length: 1000 }, (_, i) => {
        const r = ((i % hot) * 7919) % n;
        return r % 10 === 0
          ? { method: 'GET', host: `h${r}.example.com`, port: 8000, path: `/svc${r}/api/items/${i}`, headers: {} }
          : { method: 'GET', host: 'localhost', port: 8000, path: `/svc${r}/api/items/${i}`, headers: {} };
      });
      let hit = 0;
      for (let i = 0; i < 300_000; i++) if (router.match(reqs[i % 1000]!)) hit++;
      const iters = 1_000_000;
      const c0 = process.cpuUsage();
      for (let i = 0; i < iters; i++) if (router.match(reqs[i % 1000]!)) hit++;
      const c = process.cpuUsage(c0);
      if (hit < iters) throw new Error(`router missed requests (${hit} hits)`);
      out.push({ n, hot, nsPerMatch: ((c.user + c.system) * 1000) / iters });
    }
  }
  return out;
}

// ---------- main ----------

async function main(): Promise<void> {
  const upPort = await freePort();
  const upstream = await startNginx(tmp, 'upstream', upPort, `server { listen 127.0.0.1:PORT; location / { return 200 "hello from nginx\\n"; } }`);
  const ports = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => freePort()));
  const variants: Variant[] = [];
  const add = async (key: string, label: string, port: number, start: () => Promise<{ pid: () => number; stop: () => Promise<void> }>, headers: string[] = []) => {
    if (ONLY !== null && !ONLY.has(key)) return;
    const s = await start();
    variants.push({ key, label, port, rootPid: s.pid, stop: s.stop, headers });
  };
  const node = (file: string, args: string[]) => async () => {
    const c = await startNode(here, file, args, PROF);
    return { pid: () => c.pid!, stop: () => stopChild(c), child: c };
  };
  console.log(`proxy bench: ${ROUNDS} rounds x ${DURATION}s (+${WARMUP}s warm-up), ${CONNS} connections, wrk -t1; upstream nginx on :${upPort}`);
  await add('a', 'nginx proxy, 1 worker', ports[0]!, () =>
    startNginx(tmp, 'proxy', ports[0]!, `upstream up { server 127.0.0.1:${upPort}; keepalive 128; }
    server { listen 127.0.0.1:PORT; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }`),
  );
  await add('b', 'bare undici proxy', ports[1]!, node('proxy-bare-undici.ts', [String(ports[1]), String(upPort)]));
  await add('c', 'bare http-proxy', ports[2]!, node('proxy-bare-http-proxy.ts', [String(ports[2]), String(upPort)]));
  await add('d', 'gossamer, 1 process, no plugins', ports[3]!, node('proxy-gossamer.ts', [String(ports[3]), String(upPort), 'plain']));
  await add('e', 'gossamer + key-auth, rate-limiting, prometheus', ports[4]!, node('proxy-gossamer.ts', [String(ports[4]), String(upPort), 'plugins']), [`apikey: ${BENCH_KEY}`]);
  await add('g', 'gossamer + jwt, correlation-id, http-log', ports[6]!, node('proxy-gossamer.ts', [String(ports[6]), String(upPort), 'logging']), [`authorization: ${BENCH_JWT}`]);
  const fStart = node('proxy-gossamer.ts', [String(ports[5]), String(upPort), 'workers2']);
  let fChild: ChildProcess | undefined;
  await add('f', 'gossamer, worker_processes = 2', ports[5]!, async () => {
    const s = await fStart();
    fChild = s.child;
    return s;
  });

  const runs = new Map<string, Run[]>(variants.map((v) => [v.key, []]));
  // Interrupted (Ctrl-C, timeout): stop every proxy and nginx we started, then exit.
  stopOnInterrupt(() => {
    for (const v of variants) void v.stop();
    void upstream.stop();
  });
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const v of variants) {
        const r = measure(v);
        runs.get(v.key)!.push(r);
        console.log(`round ${round} (${v.key}) ${v.label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.perCpuS.toFixed(0)} req/CPU-s, errors ${r.errors}`);
      }
    }
    // p99 at half of d's peak rate, d vs b (wrk's per-connection delay() paces the load).
    const halfRate: Record<string, Run> = {};
    let half = 0;
    if (EXTRAS && runs.has('b') && runs.has('d')) {
      half = avg(runs.get('d')!.map((r) => r.rps)) / 2;
      const paced = path.join(tmp, 'paced.lua');
      fs.writeFileSync(paced, `function delay() return ${Math.max(1, Math.round((CONNS * 1000) / half))} end\n`);
      for (const key of ['b', 'd']) {
        const v = variants.find((x) => x.key === key)!;
        const out = wrk(v.port, DURATION, v.headers, paced).out;
        halfRate[key] = { ...parseWrk(out), cpuS: 0, perCpuS: 0 };
      }
    }
    const stats =
      EXTRAS && fChild
        ? await new Promise<{ id: number; pid: number; requests: number }[]>((resolve) => {
            fChild!.once('message', (m) => resolve((m as { stats: { id: number; pid: number; requests: number }[] }).stats));
            fChild!.send('stats');
          })
        : null;
    const scale = EXTRAS ? routerScale() : [];
    report(variants, runs, halfRate, half, stats, scale);
  } finally {
    for (const v of variants) await v.stop();
    await upstream.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function avg(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

function report(
  variants: Variant[],
  runs: Map<string, Run[]>,
  half: Record<string, Run>,
  halfRps: number,
  stats: { id: number; pid: number; requests: number }[] | null,
  scale: { n: number; hot: number; nsPerMatch: number }[],
): void {
  // Ratios use the best run of each variant: on a shared machine, neighbours only ever add
  // CPU per request (cache and core contention), so the best run is the closest to the cost.
  const agg = new Map<string, { rps: number; p50: number; p99: number; perCpuS: number; meanPerCpuS: number; errors: number }>();
  for (const v of variants) {
    const r = runs.get(v.key)!;
    agg.set(v.key, {
      rps: avg(r.map((x) => x.rps)),
      p50: median(r.map((x) => x.p50)),
      p99: median(r.map((x) => x.p99)),
      perCpuS: Math.max(...r.map((x) => x.perCpuS)),
      meanPerCpuS: avg(r.map((x) => x.perCpuS)),
      errors: r.reduce((s, x) => s + x.errors, 0),
    });
  }
  const lines: string[] = [];
  lines.push('');
  lines.push(`| variant | req/s (mean) | p50 ms | p99 ms | req per proxy CPU-s (best) | (mean) | errors |`);
  lines.push(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const v of variants) {
    const a = agg.get(v.key)!;
    lines.push(`| (${v.key}) ${v.label} | ${a.rps.toFixed(0)} | ${a.p50.toFixed(2)} | ${a.p99.toFixed(2)} | ${a.perCpuS.toFixed(0)} | ${a.meanPerCpuS.toFixed(0)} | ${a.errors} |`);
  }
  const pc = (k: string) => agg.get(k)!.perCpuS;
  // Only the pairs whose two variants ran (BENCH_VARIANTS may leave some out).
  const pairs = (list: [string, string, number?][], f: (x: string, y: string, target?: number) => string) =>
    list.filter(([x, y]) => agg.has(x) && agg.has(y)).map(([x, y, t]) => f(x, y, t)).join(', ');
  const ratio = (x: string, y: string, target?: number) => {
    const r = pc(x) / pc(y);
    return `${x}/${y} = ${r.toFixed(2)}${target ? (r >= target ? ` (target >= ${target}: met)` : ` (target >= ${target}: NOT met)`) : ''}`;
  };
  lines.push('');
  lines.push(`ratios in requests per proxy CPU-second (best runs): ${pairs([['d', 'b', 0.85], ['e', 'b', 0.75], ['g', 'b', 0.7], ['d', 'c', 1.5], ['d', 'a'], ['b', 'a']], ratio)}`);
  // The same ratios paired within each round (the variants of one round run back to back, so
  // a neighbour's burst hits both sides of a pair alike), median over the rounds.
  const paired = (x: string, y: string) => `${x}/${y} = ${median(runs.get(x)!.map((r, i) => r.perCpuS / runs.get(y)![i]!.perCpuS)).toFixed(2)}`;
  lines.push(`paired per round (median of ${runs.get(variants[0]!.key)!.length} rounds): ${pairs([['d', 'b'], ['e', 'b'], ['g', 'b'], ['d', 'c'], ['d', 'a']], paired)}`);
  const hb = half.b;
  const hd = half.d;
  if (hb && hd) {
    lines.push(
      `p99 at half of d's peak (~${halfRps.toFixed(0)} req/s offered): b ${hb.p99.toFixed(2)} ms (${hb.rps.toFixed(0)} req/s), d ${hd.p99.toFixed(2)} ms (${hd.rps.toFixed(0)} req/s) -> d/b = ${(hd.p99 / hb.p99).toFixed(2)} (target <= 2)`,
    );
  }
  if (stats) lines.push(`f workers served: ${stats.map((s) => `worker ${s.id} (pid ${s.pid}) ${s.requests} requests`).join(', ')} -> ${stats.length >= 2 && stats.every((s) => s.requests > 0) ? 'both served' : 'NOT all served'}`);
  const total = [...agg.values()].reduce((s, a) => s + a.errors, 0);
  lines.push(`errors across all runs: ${total}`);
  if (scale.length) lines.push(`router (CPU ns per match): ${scale.map((s) => `${s.n} routes/${s.hot} hot: ${s.nsPerMatch.toFixed(0)}`).join(', ')}`);
  lines.push(`load: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (machine shared; ratios per CPU-second are the robust figures)`);
  console.log(lines.join('\n'));
}

await main();
