// Processes and load tools the proxy benchmarks share (bench:proxy, bench:tls): nginx started
// from a generated configuration, node variants forked with tsx, wrk's output parsed.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleVariant } from './bench-bundle.ts';

export interface Run {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  cpuS: number;
  perCpuS: number;
}


/** An nginx configuration under `tmp`/`name`: one worker, no access log, `body` inside `http {}` (PORT replaced). */
function nginxConf(tmp: string, name: string, port: number, body: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  ${body.replace(/PORT/g, String(port))}
}`;
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return file;
}

export async function startNginx(tmp: string, name: string, port: number, body: string): Promise<{ pid: () => number; stop: () => Promise<void> }> {
  const conf = nginxConf(tmp, name, port, body);
  const child = spawn('nginx', ['-c', conf, '-p', path.dirname(conf), '-e', path.join(path.dirname(conf), 'error.log')], { stdio: 'ignore' });
  await waitPort(port);
  return {
    pid: () => child.pid!,
    stop: () => stopChild(child),
  };
}

/** A variant `dir`/`file`, bundled as shipped (bench-bundle.ts) and forked; resolves when it says it is ready. `prof`: a --cpu-prof directory. */
export async function startNode(dir: string, file: string, args: string[], prof: string | null = null): Promise<ChildProcess> {
  const script = await bundleVariant(path.join(dir, file));
  const child = fork(script, args, { execArgv: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', () => fs.rmSync(script, { force: true }));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
  return child;
}

/** On Ctrl-C or a timeout's SIGTERM: `stop` what the bench started (children, nginx), then exit 130. */
export function stopOnInterrupt(stop: () => void): void {
  const cleanup = (): void => {
    stop();
    setTimeout(() => process.exit(130), 1000).unref();
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    if (child.connected) child.send('stop');
    else child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

async function waitPort(port: number): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}`);
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

export function parseWrk(out: string): Omit<Run, 'cpuS' | 'perCpuS'> {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  return { requests, rps, p50, p99, errors };
}

