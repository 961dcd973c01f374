// The README's walkthrough, run as written: every ```sh walkthrough block, in order, in one
// working directory, against real `gossamer` processes and a real Postgres. Only what would
// collide on a shared machine is substituted: Kong's well-known ports become free ones,
// psql finds the test's Postgres through PGHOST/PGPORT/PGPASSWORD, and httpbin.org (no
// network here) becomes a local echo server.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, startEmbeddedPostgres, type EmbeddedPg } from '../../src/db/embedded.ts';
import { startEchoServer, type EchoServer } from '../../src/up/echo.ts';
import { portTaken } from '../../src/up/ports.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
const KONG_PORTS = [8000, 8001, 8005, 8010, 8011, 8015, 8020, 8021, 8025];
const NODES = ['node1', 'node2', 'node3'];
/** Every prefix the walkthrough starts a node in (afterAll stops whatever still runs). */
const PREFIXES = [...NODES, 'cp1', 'dp1'];

let tmp: string;
let work: string;
let pg: EmbeddedPg | undefined;
let echo: EchoServer | undefined;
const portMap = new Map<number, number>();
let env: NodeJS.ProcessEnv;

function substitute(text: string): string {
  const pattern = new RegExp(`\\b(${[...portMap.keys()].join('|')})\\b`, 'g');
  return text.replace(pattern, (p) => String(portMap.get(Number(p)))).replaceAll('http://httpbin.org', echo!.url);
}

function runBlock(text: string, timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-e', '-o', 'pipefail', '-c', substitute(text)], { cwd: work, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, out: stdout, err: stderr });
    });
  });
}

function nodePid(name: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(work, name, 'pids', 'gossamer.pid'), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

function logs(): string {
  return PREFIXES.map((n) => {
    const f = path.join(work, `${n}.log`);
    return fs.existsSync(f) ? `--- ${n}.log (tail)\n${fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}` : '';
  }).join('\n');
}

interface Member {
  name: string;
  status: string;
  config_hash?: string;
}

/** The membership listing: the last line of a block's output (earlier lines are other commands'). */
function members(out: string): Member[] {
  const json = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? out;
  return (JSON.parse(json) as { data: Member[] }).data;
}

/** Run a block until `ok(out)` holds (a cluster converges in moments, not instantly), at most `tries` times. */
async function runUntil(text: string, ok: (out: string) => boolean, tries = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    const r = await runBlock(text);
    expect(r.code, `${text}\n${r.err}\n${logs()}`).toBe(0);
    last = r.out;
    try {
      if (ok(last)) return last;
    } catch {
      /* not yet parseable */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-readme-'));
  fs.chmodSync(tmp, 0o777); // as root, Postgres runs as the postgres user
  work = path.join(tmp, 'work');
  fs.mkdirSync(work);
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  // What `npm link` would put on the PATH.
  fs.writeFileSync(path.join(bin, 'gossamer'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/gossamer.js')}" "$@"\n`, { mode: 0o755 });

  pg = await startEmbeddedPostgres({ dir: path.join(tmp, 'pgdata') });
  echo = await startEchoServer({ port: 0 });
  const used = new Set<number>([pg.port, echo.port]);
  for (const p of KONG_PORTS) {
    let free = await freePort();
    while (used.has(free)) free = await freePort();
    used.add(free);
    portMap.set(p, free);
  }
  portMap.set(5432, pg.port);

  env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(KONG_|GOSSAMER_|PG)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, {
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    PGHOST: '127.0.0.1',
    PGPORT: String(pg.port),
    PGPASSWORD: pg.password,
    // Three nodes share two cores with the rest of the suite: one proxy worker each.
    GOSSAMER_WORKER_PROCESSES: '1',
  });
});

afterAll(async () => {
  for (const n of PREFIXES) {
    const pid = work ? nodePid(n) : null;
    if (pid) process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 15_000;
  while (work && PREFIXES.some((n) => nodePid(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const n of PREFIXES) {
    const pid = work ? nodePid(n) : null;
    if (pid) process.kill(pid, 'SIGKILL');
  }
  await echo?.close();
  await pg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

const block = (needle: string): string => {
  const b = blocks.find((x) => x.includes(needle));
  if (!b) throw new Error(`README has no walkthrough block containing '${needle}'`);
  return b;
};

test('the README has the walkthrough blocks this test knows, and psql is installed', () => {
  expect(blocks.length).toBe(14);
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  expect(psql.error, 'psql is missing: apt-get install -y postgresql-client').toBeUndefined();
});

test('step 1: psql creates the user and database; migrations bootstrap creates the schema', async () => {
  const db = await runBlock(block('CREATE USER'));
  expect(db.code, db.err).toBe(0);
  expect(db.out).toContain('CREATE ROLE');
  expect(db.out).toContain('CREATE DATABASE');
  const boot = await runBlock(block('migrations bootstrap'));
  expect(boot.code, boot.err).toBe(0);
  expect(boot.out).toMatch(/bootstrapped/);
}, 60_000);

test('step 2: three node files that gossamer check accepts', async () => {
  const r = await runBlock(block('cat >> node1.conf'));
  expect(r.code, r.err).toBe(0);
  for (const n of NODES) expect(fs.existsSync(path.join(work, `${n}.conf`))).toBe(true);
}, 60_000);

test('step 3: three nodes start, answer /status, and see each other alive', async () => {
  const start = await runBlock(block('gossamer start -c node1.conf'), 150_000);
  expect(start.code, `${start.err}\n${logs()}`).toBe(0);
  for (const n of NODES) expect(nodePid(n), `${n} is running`).not.toBeNull();

  const status = await runBlock(block('curl -i http://127.0.0.1:8001/status'));
  expect(status.code, status.err).toBe(0);
  expect(status.out).toMatch(/^HTTP\/1\.1 200/);

  const out = await runUntil(block('/cluster/members'), (o) => members(o).filter((m) => m.status === 'alive').length === 3, 40);
  const list = members(out);
  expect(list.map((m) => m.name).sort(), logs()).toEqual(NODES);
  expect(list.every((m) => m.status === 'alive'), JSON.stringify(list)).toBe(true);

  const table = await runBlock(block('gossamer cluster members'));
  expect(table.code, table.err).toBe(0);
  expect(table.out).toMatch(/^NAME\s+ADDRESS\s+ROLE\s+STATUS\s+CONFIG_VERSION\s+CONFIG_HASH/);
  expect(table.out).toMatch(/^node2 \*\s/m);
  expect(table.out).toContain('3 members: 3 alive');
}, 180_000);

test('step 4: a route created on node 1 is served by node 3 at once', async () => {
  const r = await runBlock(block('httpbin'));
  expect(r.code, `${r.err}\n${logs()}`).toBe(0);
  const lastResponse = r.out.slice(r.out.lastIndexOf('HTTP/1.1 '));
  expect(lastResponse, r.out).toMatch(/^HTTP\/1\.1 200/);
  const body = JSON.parse(lastResponse.slice(lastResponse.indexOf('\r\n\r\n') + 4));
  expect(body.path).toBe('/anything');
}, 60_000);

test('step 5: the nginx upstream lists exactly the three proxies of the walkthrough', () => {
  const nginx = /^```nginx\n([\s\S]*?)^```$/m.exec(README)![1]!;
  const servers = [...nginx.matchAll(/server\s+([\d.]+:\d+);/g)].map((m) => m[1]);
  const proxies = [...block('cat >> node1.conf').matchAll(/^proxy_listen = (\S+)$/gm)].map((m) => m[1]);
  expect(servers).toEqual(proxies);
  expect(nginx).toMatch(/listen 80;/);
});

test('step 6: a stopped node is listed as left, and every node stops', async () => {
  const out = await runUntil(block('gossamer stop -p ./node3'), (o) => members(o).find((m) => m.name === 'node3')?.status === 'left', 1);
  expect(nodePid('node3')).toBeNull();
  // Later runs of the block would only fail on the already-stopped node: poll the listing instead.
  let list = members(out);
  for (let i = 0; i < 20 && list.find((m) => m.name === 'node3')?.status !== 'left'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    list = members((await runBlock(`curl -s http://127.0.0.1:8001/cluster/members`)).out);
  }
  expect(list.find((m) => m.name === 'node3')?.status, JSON.stringify(list)).toBe('left');

  const rest = await runBlock(block('gossamer stop -p ./node1'));
  expect(rest.code, rest.err).toBe(0);
  for (const n of NODES) expect(nodePid(n), `${n} stopped`).toBeNull();
  for (const p of KONG_PORTS) expect(await portTaken(portMap.get(p)!), `port ${p} → ${portMap.get(p)} is free`).toBe(false);
}, 120_000);

test('step 7: a control plane and a data plane with a gen-cert pair; a change on the control plane is served by the data plane', async () => {
  const cert = await runBlock(block('gen-cert'));
  expect(cert.code, cert.err).toBe(0);
  for (const f of ['cluster.crt', 'cluster.key']) expect(fs.existsSync(path.join(work, 'certs', f)), f).toBe(true);

  const start = await runBlock(block('cat >> cp1.conf'), 150_000);
  expect(start.code, `${start.err}\n${logs()}`).toBe(0);
  // A data plane writes its pid file once its first sync is done, a moment after /status answers.
  for (let i = 0; i < 60 && !(nodePid('cp1') && nodePid('dp1')); i++) await new Promise((r) => setTimeout(r, 500));
  expect(nodePid('cp1'), logs()).not.toBeNull();
  expect(nodePid('dp1'), logs()).not.toBeNull();

  const change = await runBlock(block('/hybrid'));
  expect(change.code, `${change.err}\n${logs()}`).toBe(0);
  const out = change.out;
  expect(JSON.parse(out.slice(0, out.indexOf('HTTP/1.1 ')))).toMatchObject({ name: 'hybrid', paths: ['/hybrid'] });
  const response = out.slice(out.indexOf('HTTP/1.1 '), out.lastIndexOf('{"data":'));
  expect(response, `${out}\n${logs()}`).toMatch(/^HTTP\/1\.1 200/);
  expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).path).toBe('/anything');
  const dps = JSON.parse(out.slice(out.lastIndexOf('{"data":'))) as { data: { hostname?: string; name?: string; sync_status: string }[] };
  expect(dps.data.map((d) => [d.name, d.sync_status])).toEqual([['dp1', 'normal']]);

  const stop = await runBlock(block('gossamer stop -p ./dp1'));
  expect(stop.code, stop.err).toBe(0);
  expect(nodePid('dp1')).toBeNull();
  expect(nodePid('cp1')).toBeNull();
}, 240_000);
