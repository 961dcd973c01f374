// Issue #18, "starts anywhere": as root, in a checkout under a 0700 directory (a clone into
// /root, an output directory made by `mktemp -d`), `npm start` and `gossamer sim run` work.
// Postgres runs as the `postgres` user there, which cannot reach anything under that
// directory: neither its data nor the binaries in node_modules. The test does what a new user
// does: clones this repository into a 0700 directory, gives it node_modules (hard links of
// ours: the same files npm install would put there, in 0.5 s instead of minutes), runs
// `npm start` from another directory, and stops it with Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { pgDataPlace, postgresIds } from '../../src/db/pg-server.ts';
import { isAlive } from '../../src/up/lock.ts';
import { portTaken } from '../../src/up/ports.ts';
import { cleanEnv, ROOT } from '../support/cli.ts';

const asRoot = process.getuid?.() === 0;

interface Run {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** A command in its own process group, as a shell runs it: Ctrl-C (SIGINT to the group) reaches npm and node alike. */
function start(cmd: string, args: string[], cwd: string): Run {
  const child = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  // 'close', not 'exit': npm may die of the SIGINT before gossamer has written its last lines.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function waitFor(run: Run, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let code: number | null | undefined;
  void run.exited.then((c) => (code = c));
  while (!run.out().includes(text)) {
    if (code !== undefined) throw new Error(`exited (${code}) before printing '${text}':\n${run.out()}`);
    if (Date.now() > deadline) throw new Error(`no '${text}' within ${timeoutMs} ms:\n${run.out()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let closed: string;
let clone: string;
const runs: Run[] = [];
const relocated: string[] = [];

beforeAll(() => {
  if (!asRoot) return;
  closed = fs.mkdtempSync(path.join(os.tmpdir(), 'gossamer-anywhere-'));
  fs.chmodSync(closed, 0o700); // what /root and `mktemp -d` give
  clone = path.join(closed, 'gossamer');
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  // Hard links, not a symlink: with a symlink, Node resolves the packages (and the Postgres
  // binaries) to this checkout's node_modules, which the postgres user can reach; the point is
  // a node_modules inside the 0700 directory, as npm install makes it.
  execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules')]);
}, 60_000);

afterAll(async () => {
  // Whatever a failed test left running: Ctrl-C, then SIGKILL to the group.
  const kill = (r: Run, sig: NodeJS.Signals) => {
    try {
      process.kill(-r.child.pid!, sig);
    } catch {
      // the group is gone
    }
  };
  for (const r of runs) kill(r, 'SIGINT');
  await Promise.all(runs.map((r) => Promise.race([r.exited, new Promise((res) => setTimeout(res, 30_000))])));
  for (const r of runs) kill(r, 'SIGKILL');
  if (closed) fs.rmSync(closed, { recursive: true, force: true });
  for (const home of relocated) fs.rmSync(home, { recursive: true, force: true });
}, 60_000);

test('as an ordinary user, or where the postgres user can reach it, the data stays where it was asked for', async () => {
  const wanted = path.join(os.tmpdir(), 'gossamer-anywhere-open', '.gossamer', 'pg');
  expect(pgDataPlace(wanted, {})).toMatchObject({ dataDir: wanted, relocated: false });
  // /tmp (1777) is reachable for every user: no move as root either.
  expect(pgDataPlace(wanted, await postgresIds())).toMatchObject({ dataDir: wanted, relocated: false });
});

test.skipIf(!asRoot)('as root, npm start in a clone under a 0700 directory runs, prints where the data is, stops on Ctrl-C, and finds the same data (and the Postgres a killed launcher left there) the next times', async () => {
  const p = { port: await freePort(), base: 21_000 + Math.floor(Math.random() * 900) * 10, pg: await freePort(), echo: await freePort() };
  const args = ['--prefix', clone, 'start', '--', '--nodes', '1', '--port', String(p.port), '--base-port', String(p.base), '--pg-port', String(p.pg), '--echo-port', String(p.echo)];
  const expectedHome = pgDataPlace(path.join(clone, '.gossamer', 'pg'), await postgresIds()).home;
  relocated.push(expectedHome);

  const dataDirs: string[] = [];
  // Round 2's launcher is killed (kill -9): round 3 must find and stop the Postgres it left in the moved directory.
  for (const round of [1, 2, 3]) {
    // From another directory, as `cd /; npm --prefix <clone> start` (npm runs the script in the clone).
    const run = start('npm', args, '/');
    runs.push(run);
    await waitFor(run, 'Press Ctrl-C', 120_000);
    const out = run.out();
    const printed = /password gossamer \(data in (\S+)\)/.exec(out)?.[1];
    expect(printed, out).toMatch(/^\/var\/lib\/gossamer\/[0-9a-f]{16}\/pg$/);
    dataDirs.push(printed!);
    expect(out).toContain(`which cannot reach ./.gossamer/pg; its data and postgres.log are kept in ${path.dirname(printed!)}/ instead`); // npm runs the script in the clone
    expect(fs.existsSync(path.join(path.dirname(printed!), 'postgres.log'))).toBe(true);
    expect(path.dirname(printed!)).toBe(expectedHome);
    expect(fs.existsSync(path.join(printed!, 'PG_VERSION'))).toBe(true);
    expect(fs.readFileSync(path.join(expectedHome, 'for'), 'utf8').trim()).toBe(path.join(fs.realpathSync(clone), '.gossamer', 'pg'));
    const status = await fetch(`http://127.0.0.1:${p.base + 1}/status`);
    expect(status.status).toBe(200);
    await status.body?.cancel();
    if (round > 1) expect(out).toContain('database is up to date'); // the first run's database, found again
    if (round === 3) expect(out).toContain('stopped the Postgres left running by a previous gossamer up');

    if (round === 2) {
      process.kill(-run.child.pid!, 'SIGKILL'); // npm and the launcher; the node and Postgres run in their own groups
      await run.exited;
      continue;
    }
    process.kill(-run.child.pid!, 'SIGINT');
    // npm itself dies of the SIGINT (no exit code); gossamer's own exit is what its last line says.
    expect([0, null], run.out()).toContain(await run.exited);
    expect(run.out()).toMatch(/stopping Postgres \.\.\.\ngossamer up: stopped/);
    for (const port of [p.port, p.pg, p.echo, p.base, p.base + 1]) expect(await portTaken(port), `port ${port}`).toBe(false);
  }
  expect(new Set(dataDirs).size).toBe(1);
  // Nothing of the user's was opened up to get there.
  expect(fs.statSync(closed).mode & 0o777).toBe(0o700);
}, 120_000);

test.skipIf(!asRoot)('as root, gossamer sim run with --out in a 0700 directory runs the CI scenario and removes the data it moved', async () => {
  const out = path.join(closed, 'out');
  const sim = start(process.execPath, [path.join(clone, 'bin', 'gossamer.js'), 'sim', 'run', path.join(clone, 'sim/scenarios/ci-short.yaml'), '--seed', '1', '--out', out, '--quiet'], '/');
  runs.push(sim);
  const place = pgDataPlace(path.join(out, 'cluster', 'pg'), await postgresIds());
  relocated.push(place.home);
  const code = await sim.exited;
  expect(sim.out()).toContain(`sim: Postgres data in ${place.dataDir} (running as root, and the 'postgres' user Postgres runs as cannot reach ${out}), removed after the run`);
  expect(place.dataDir).toMatch(/^\/var\/lib\/gossamer\/[0-9a-f]{16}\/pg$/);
  expect(code, sim.out()).toBe(0);
  expect(fs.existsSync(path.join(out, 'report.json'))).toBe(true);
  expect(fs.existsSync(place.home), 'the moved data is removed after the run').toBe(false);
  if (sim.child.pid) expect(isAlive(sim.child.pid)).toBe(false);
}, 120_000);
