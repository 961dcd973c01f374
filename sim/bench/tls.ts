// `npm run bench:tls` (through tls.sh): TLS termination cost, each figure against a reference
// measured in the same run, variants alternating round by round, cost read as work per proxy
// CPU-second from /proc (a shared 2-core machine: the ratios are the figures, not the rates).
//   (a) new TLS handshakes (a full handshake and one request per connection) per CPU-second:
//       gossamer vs nginx with the same ECDSA P-256 certificate (goal >= 0.5 of nginx)
//   (b) keep-alive HTTPS requests per CPU-second (wrk): gossamer vs a bare Node https server
//       in front of an undici proxy (goal >= 0.85)
//   (c) HTTP/2 requests per CPU-second (h2load): gossamer vs nginx's http2
//   (d) handshakes per CPU-second with 10,000 SNIs vs 1 (goal: flat, >= 0.9)
// Session tickets and caches are off on every server: each handshake is a full one.
import '../../src/polyfill.ts';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/db/embedded.ts';
import { parseWrk, startNginx, startNode, stopChild, stopOnInterrupt } from './bench-procs.ts';
import { cpuOfAll, descendants } from './proc.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const HANDSHAKE_CLIENTS = Number(process.env.BENCH_HANDSHAKE_CLIENTS ?? 16);
const SNIS = 10_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-bench-tls-'));

interface Server {
  label: string;
  port: number;
  pid: () => number;
  stop: () => Promise<void>;
}

const cpuOf = (s: Server) => cpuOfAll(descendants(s.pid()));

/** Work done against `s` by `load` per CPU-second `s` spent on it. */
function perCpu(s: Server, load: () => number): { work: number; cpuS: number; perCpuS: number } {
  const c0 = cpuOf(s);
  const work = load();
  const cpuS = cpuOf(s) - c0;
  return { work, cpuS, perCpuS: cpuS > 0 ? work / cpuS : 0 };
}

function handshakes(port: number, names: number): number {
  const args = ['--import', 'tsx', path.join(here, 'tls-handshakes.ts'), String(port), String(SECONDS), String(HANDSHAKE_CLIENTS), String(names)];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: (SECONDS + 60) * 1000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { handshakes: number; errors: number };
  if (r.errors > r.handshakes / 100) throw new Error(`handshake client on :${port}: ${r.errors} errors for ${r.handshakes} handshakes`);
  return r.handshakes;
}

function keepAlive(port: number): number {
  const out = execFileSync('wrk', ['-t1', '-c50', `-d${SECONDS}s`, '--timeout', '10s', `https://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const r = parseWrk(out);
  if (r.errors > 0) throw new Error(`wrk on :${port}: ${r.errors} errors`);
  return r.requests;
}

function h2(port: number): number {
  const out = execFileSync('h2load', ['-c', '10', '-m', '10', '-D', String(SECONDS), `https://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(out)?.[2] ?? 0);
  if (!/Application protocol: h2/.test(out)) throw new Error(`h2load on :${port} did not negotiate h2:\n${out.slice(0, 400)}`);
  return done;
}

function makeCertificate(): { cert: string; key: string } {
  const cert = path.join(tmp, 'cert.pem');
  const key = path.join(tmp, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=bench.test', '-addext', 'subjectAltName=DNS:*.bench.test,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

async function main(): Promise<void> {
  const { cert, key } = makeCertificate();
  const upPort = await freePort();
  const upstream = await startNginx(tmp, 'upstream', upPort, `server { listen 127.0.0.1:PORT; location / { return 200 "hello from nginx\\n"; } }`);
  const servers: Server[] = [];
  const node = async (label: string, file: string, args: string[]): Promise<Server> => {
    const port = await freePort();
    const c = await startNode(here, file, [String(port), String(upPort), ...args]);
    const s = { label, port, pid: () => c.pid!, stop: () => stopChild(c) };
    servers.push(s);
    return s;
  };
  stopOnInterrupt(() => {
    for (const s of servers) void s.stop();
    void upstream.stop();
  });
  try {
    const nPort = await freePort();
    const ngx = await startNginx(tmp, 'tls', nPort, `upstream up { server 127.0.0.1:${upPort}; keepalive 128; }
      server { listen 127.0.0.1:PORT ssl http2; ssl_certificate ${cert}; ssl_certificate_key ${key};
        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets off; ssl_session_cache off;
        location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }`);
    const nginx: Server = { label: 'nginx, 1 worker', port: nPort, pid: ngx.pid, stop: ngx.stop };
    servers.push(nginx);
    const g1 = await node('gossamer, 1 SNI', 'tls-gossamer.ts', [cert, key, '1']);
    const g10k = await node(`gossamer, ${SNIS} SNIs`, 'tls-gossamer.ts', [cert, key, String(SNIS)]);
    const bare = await node('bare https + undici', 'tls-bare.ts', [cert, key]);
    console.log(`tls bench: ${ROUNDS} rounds x ${SECONDS}s per figure; ${HANDSHAKE_CLIENTS} handshake clients; ECDSA P-256; upstream nginx :${upPort}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    // Warm-up: V8 optimises the hot paths before anything counts.
    for (const s of [g1, g10k]) handshakes(s.port, s === g10k ? SNIS : 1);
    for (const s of [g1, bare]) keepAlive(s.port);
    const rows: Record<string, number[]> = {};
    const note = (k: string, v: number) => (rows[k] ??= []).push(v);
    for (let round = 1; round <= ROUNDS; round++) {
      const a = [perCpu(g1, () => handshakes(g1.port, 1)), perCpu(nginx, () => handshakes(nginx.port, 1))];
      const b = [perCpu(g1, () => keepAlive(g1.port)), perCpu(bare, () => keepAlive(bare.port))];
      const c = [perCpu(g1, () => h2(g1.port)), perCpu(nginx, () => h2(nginx.port))];
      const d = perCpu(g10k, () => handshakes(g10k.port, SNIS));
      note('a gossamer', a[0]!.perCpuS), note('a nginx', a[1]!.perCpuS);
      note('b gossamer', b[0]!.perCpuS), note('b bare', b[1]!.perCpuS);
      note('c gossamer', c[0]!.perCpuS), note('c nginx', c[1]!.perCpuS);
      note('d 10k', d.perCpuS);
      console.log(`round ${round}: (a) handshakes/CPU-s gossamer ${a[0]!.perCpuS.toFixed(0)}, nginx ${a[1]!.perCpuS.toFixed(0)}; (b) keep-alive req/CPU-s gossamer ${b[0]!.perCpuS.toFixed(0)}, bare ${b[1]!.perCpuS.toFixed(0)}; (c) h2 req/CPU-s gossamer ${c[0]!.perCpuS.toFixed(0)}, nginx ${c[1]!.perCpuS.toFixed(0)}; (d) handshakes/CPU-s with ${SNIS} SNIs ${d.perCpuS.toFixed(0)}`);
    }
    report(rows);
  } finally {
    for (const s of servers) await s.stop();
    await upstream.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Best run of each (neighbours only ever add CPU per unit of work), ratios against the goals. */
function report(rows: Record<string, number[]>): void {
  const best = (k: string) => Math.max(...rows[k]!);
  const line = (label: string, x: string, y: string, goal?: number) => {
    const r = best(x) / best(y);
    const verdict = goal === undefined ? '' : r >= goal ? ` (goal >= ${goal}: met)` : ` (goal >= ${goal}: NOT met)`;
    return `${label}: ${best(x).toFixed(0)} vs ${best(y).toFixed(0)} per CPU-s -> ${r.toFixed(2)}${verdict}`;
  };
  console.log('');
  console.log(line('(a) new TLS handshakes, gossamer / nginx', 'a gossamer', 'a nginx', 0.5));
  console.log(line('(b) keep-alive HTTPS requests, gossamer / bare https + undici', 'b gossamer', 'b bare', 0.85));
  console.log(line('(c) HTTP/2 requests, gossamer / nginx', 'c gossamer', 'c nginx'));
  console.log(line(`(d) handshakes with ${SNIS} SNIs / with 1`, 'd 10k', 'a gossamer', 0.9));
  // The same ratios paired within each round (both sides measured seconds apart), median of the rounds.
  const paired = (x: string, y: string) => {
    const rs = rows[x]!.map((v, i) => v / rows[y]![i]!).sort((p, q) => p - q);
    return rs[Math.floor((rs.length - 1) / 2)]!.toFixed(2);
  };
  console.log(`paired per round (median): (a) ${paired('a gossamer', 'a nginx')}, (b) ${paired('b gossamer', 'b bare')}, (c) ${paired('c gossamer', 'c nginx')}, (d) ${paired('d 10k', 'a gossamer')}`);
  console.log(`load: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (machine shared; ratios per CPU-second are the figures)`);
}

await main();
