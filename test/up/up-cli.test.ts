// `gossamer up` as a user runs it: a real launcher process with embedded Postgres and node
// processes, the printed curl commands executed as printed, Ctrl-C, a second `up`, busy ports.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { isAlive, readLock } from '../../src/up/lock.ts';
import { nodePorts, portTaken } from '../../src/up/ports.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/gossamer.js');
const NODES = 2;

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function up(args: string[], cwd: string): Run {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KONG_|GOSSAMER_)/.test(k)));
  const child = spawn(process.execPath, [BIN, 'up', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function waitFor(run: Run, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void run.exited.then((c) => (exitCode = c));
  while (!run.out().includes(text)) {
    if (exitCode !== undefined) throw new Error(`gossamer up exited (${exitCode}) before printing '${text}':\n${run.out()}\n${run.err()}`);
    if (Date.now() > deadline) throw new Error(`no '${text}' within ${timeoutMs} ms:\n${run.out()}\n${run.err()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function sh(command: string, cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

/** The commands under "Try it:", exactly as printed. */
function printedCurls(out: string): string[] {
  return out
    .slice(out.indexOf('Try it:'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('curl '));
}

/** A base port whose node ports (base + 10(N-1) + 0/1/5) are all free, below the ephemeral range. */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const base = 20_000 + Math.floor(Math.random() * 1_200) * 10;
    const ports = nodePorts(base, NODES).flatMap((n) => [n.proxy, n.admin, n.cluster]);
    let ok = true;
    for (const p of ports) if (await portTaken(p)) ok = false;
    if (ok) return base;
  }
  throw new Error('no free base port found');
}

let tmp: string;
let dir: string;
let ports: { port: number; basePort: number; pgPort: number; echoPort: number };
let args: string[];
const runs: Run[] = [];
const holders: net.Server[] = [];

function allPorts(): number[] {
  return [ports.port, ports.pgPort, ports.echoPort, ...nodePorts(ports.basePort, NODES).flatMap((n) => [n.proxy, n.admin, n.cluster])];
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-up-'));
  fs.chmodSync(tmp, 0o777); // as root, Postgres runs as the postgres user and must reach the data directory
  dir = path.join(tmp, '.gossamer');
  ports = { port: await freePort(), basePort: await freeBase(), pgPort: await freePort(), echoPort: await freePort() };
  args = ['--nodes', String(NODES), '--port', String(ports.port), '--base-port', String(ports.basePort), '--pg-port', String(ports.pgPort), '--echo-port', String(ports.echoPort)];
});

afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGINT');
  await Promise.all(runs.map((r) => Promise.race([r.exited, new Promise((res) => setTimeout(res, 30_000))])));
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  for (const h of holders) h.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

test('up: table of alive nodes, and the printed curl commands work as printed', async () => {
  const started = Date.now();
  const run = up(args, tmp);
  runs.push(run);
  await waitFor(run, 'Press Ctrl-C', 150_000);
  console.log(`gossamer up --nodes ${NODES}: table printed after ${Date.now() - started} ms`);
  const out = run.out();
  for (const n of nodePorts(ports.basePort, NODES)) {
    expect(out).toMatch(new RegExp(`${n.name}\\s+http://127\\.0\\.0\\.1:${n.proxy}\\s+http://127\\.0\\.0\\.1:${n.admin}\\s+127\\.0\\.0\\.1:${n.cluster}\\s+alive`));
  }
  expect(run.err()).not.toMatch(/warning/);

  const curls = printedCurls(out);
  expect(curls).toHaveLength(4);
  const results = [];
  for (const c of curls) {
    const r = await sh(c, tmp);
    expect(r.code, `${c}\n${r.err}`).toBe(0);
    results.push(r.out);
  }
  expect(JSON.parse(results[0]!)).toMatchObject({ name: 'echo', port: ports.echoPort });
  expect(JSON.parse(results[1]!)).toMatchObject({ name: 'echo', paths: ['/echo'] });
  expect(results[2]).toMatch(/^HTTP\/1\.1 200/);
  expect(results[2]).toContain('hello from the gossamer up echo server');
  const members = JSON.parse(results[3]!) as { data: { name: string; status: string }[] };
  expect(members.data.map((m) => [m.name, m.status]).sort()).toEqual([
    ['node-1', 'alive'],
    ['node-2', 'alive'],
  ]);

  // Every node serves the route through the balancer, not only the one that was asked.
  for (let i = 0; i < 4; i++) expect((await sh(curls[2]!, tmp)).out).toMatch(/^HTTP\/1\.1 200/);
}, 200_000);

test('a second up in the same directory says one is running, and starts nothing', async () => {
  const second = up(args, tmp);
  runs.push(second);
  expect(await second.exited).toBe(1);
  expect(second.err()).toContain(`gossamer up is already running in`);
  expect(second.err()).toContain(`pid ${runs[0]!.child.pid}`);
  expect(second.err()).toContain(`http://127.0.0.1:${ports.port}`);
  expect(second.out()).not.toContain('starting Postgres');
}, 60_000);

test('a port held by another program is named with the flag that moves it', async () => {
  const other = path.join(tmp, 'other');
  fs.mkdirSync(other);
  const busy = await freePort();
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(busy, '127.0.0.1', r));
  holders.push(holder);
  const free = () => freePort().then(String);
  const run = up(['--port', String(busy), '--base-port', String(await freeBase()), '--pg-port', await free(), '--echo-port', await free()], other);
  runs.push(run);
  expect(await run.exited).toBe(1);
  expect(run.err()).toContain(`port ${busy} (load balancer) is already in use by another program; choose another with --port <port>`);
  expect(run.out()).not.toContain('starting Postgres');
  expect(fs.existsSync(path.join(other, '.gossamer', 'pg'))).toBe(false);

  const run2 = up(['--port', await free(), '--base-port', String(busy - 1), '--pg-port', await free(), '--echo-port', await free()], other);
  runs.push(run2);
  expect(await run2.exited).toBe(1);
  expect(run2.err()).toContain(`port ${busy} (node-1 Admin API) is already in use by another program; choose another with --base-port <port>`);
}, 60_000);

test('Ctrl-C stops nodes and Postgres, frees every port, removes the lock', async () => {
  const run = runs[0]!;
  const children = readLock(dir)!.children;
  expect(children.length).toBe(NODES + 1);
  run.child.kill('SIGINT');
  expect(await run.exited).toBe(0);
  expect(run.out()).toMatch(/stopping node-1, node-2 \.\.\.\nstopping Postgres \.\.\.\ngossamer up: stopped/);
  for (const pid of children) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  for (const p of allPorts()) expect(await portTaken(p), `port ${p}`).toBe(false);
  expect(readLock(dir)).toBeNull();
}, 60_000);

test('after the launcher is killed (kill -9), the next up stops what it left, keeps the database, and the printed commands still work', async () => {
  const first = up(args, tmp);
  runs.push(first);
  await waitFor(first, 'Press Ctrl-C', 150_000);
  const orphans = readLock(dir)!.children;
  first.child.kill('SIGKILL');
  await first.exited;
  // Nodes run in their own process groups and Postgres in its own session: they outlive it.
  expect(orphans.filter(isAlive).length).toBe(NODES + 1);

  const next = up(args, tmp);
  runs.push(next);
  await waitFor(next, 'Press Ctrl-C', 150_000);
  expect(next.out()).toContain(`stopping ${NODES} node process(es) left by a previous gossamer up that did not exit cleanly`);
  expect(next.out()).toContain('stopped the Postgres left running by a previous gossamer up');
  for (const pid of orphans) expect(isAlive(pid), `orphan ${pid}`).toBe(false);

  expect(next.out()).toContain('database is up to date');
  const service = await sh(`curl -s http://127.0.0.1:${ports.basePort + 1}/services/echo`, tmp);
  expect(JSON.parse(service.out)).toMatchObject({ name: 'echo' });
  for (const c of printedCurls(next.out())) {
    const r = await sh(c, tmp);
    expect(r.code, `${c}\n${r.err}`).toBe(0);
    expect(r.out).not.toMatch(/"code":\s*\d+/); // no Kong error body (e.g. a 409 on re-creating)
  }
  next.child.kill('SIGINT');
  expect(await next.exited).toBe(0);
  for (const p of allPorts()) expect(await portTaken(p), `port ${p}`).toBe(false);
}, 300_000);
