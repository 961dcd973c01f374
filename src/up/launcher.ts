// `gossamer up`: a whole cluster on one machine, in the order Kong's clustering tutorial
// builds it by hand — Postgres, role and database, migrations, nodes, a load balancer in
// front — and torn down in reverse on Ctrl-C: nodes leave the cluster first, Postgres last.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { startBalancer, type Balancer } from './balancer.ts';
import { examplesText, table, type NodeRow } from './banner.ts';
import { ensureDatabase, migrateDatabase, type UpDatabase } from './database.ts';
import { startEchoServer, type EchoServer } from './echo.ts';
import { acquireLock, commandLine, isAlive, releaseLock, updateLock, type UpLockInfo } from './lock.ts';
import { logTail, nodeSpec, startNode, type RunningNode } from './nodes.ts';
import { checkPorts, nodePorts, portClaims, type UpPorts } from './ports.ts';
import { startUpPostgres, stopLeftoverPostgres, type UpPostgres } from './postgres.ts';
import { allAlive, members, sleep, statusOk } from './ready.ts';

export interface UpOptions {
  nodes: number;
  /** Load balancer port (default 8000). */
  port: number;
  /** First node's proxy port; see nodePorts() for the scheme (default 8100). */
  basePort: number;
  pgPort: number;
  echoPort: number;
  /** State directory (default ./.gossamer): pg/, nodes/node-N/, up.json. */
  dir: string;
  /** How long to wait for every node to be up and to see all members alive. */
  readyTimeoutMs?: number;
}

export const DEFAULTS = { nodes: 3, port: 8000, basePort: 8100, pgPort: 8432, echoPort: 8099, dir: './.gossamer' };

export interface UpOutput {
  line(text: string): void;
  error(text: string): void;
}

export interface UpHandle {
  /** Resolves when the cluster is up and the banner is printed; rejects if it could not start. */
  ready: Promise<void>;
  /** Graceful teardown; safe to call more than once. */
  stop(): Promise<void>;
}

export class UpRefused extends Error {}

const LOOPBACK = '127.0.0.1';

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? `./${r}` : p;
}

/** Processes a crashed launcher left behind (recorded in its lock, or in a node's pid file). */
async function reapLeftovers(stale: UpLockInfo | null, nodesDir: string, pgDir: string, out: UpOutput): Promise<void> {
  await reapNodes(stale, nodesDir, out);
  if (await stopLeftoverPostgres(pgDir)) out.line('stopped the Postgres left running by a previous gossamer up');
}

async function reapNodes(stale: UpLockInfo | null, nodesDir: string, out: UpOutput): Promise<void> {
  const pids = new Set<number>(stale?.children ?? []);
  if (fs.existsSync(nodesDir)) {
    for (const name of fs.readdirSync(nodesDir)) {
      try {
        pids.add(Number(fs.readFileSync(path.join(nodesDir, name, 'pids', 'gossamer.pid'), 'utf8').trim()));
      } catch {
        /* no pid file */
      }
    }
  }
  const ours = [...pids].filter((pid) => Number.isInteger(pid) && pid > 0 && isAlive(pid) && /gossamer\.js start /.test(commandLine(pid)));
  if (ours.length === 0) return;
  out.line(`stopping ${ours.length} node process(es) left by a previous gossamer up that did not exit cleanly: ${ours.join(', ')}`);
  for (const pid of ours) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (ours.some(isAlive) && Date.now() < deadline) await sleep(200);
  for (const pid of ours.filter(isAlive)) process.kill(pid, 'SIGKILL');
}

export function runUp(opts: UpOptions, out: UpOutput): UpHandle {
  const dir = path.resolve(opts.dir);
  const nodesDir = path.join(dir, 'nodes');
  const ports: UpPorts = { balancer: opts.port, postgres: opts.pgPort, echo: opts.echoPort, nodes: nodePorts(opts.basePort, opts.nodes) };
  const db: UpDatabase = { host: LOOPBACK, port: opts.pgPort, user: 'gossamer', password: 'gossamer', database: 'gossamer' };
  const lock: UpLockInfo = { pid: process.pid, startedAt: new Date().toISOString(), balancerUrl: `http://${LOOPBACK}:${opts.port}`, children: [] };

  let postgres: UpPostgres | undefined;
  let echo: EchoServer | undefined;
  let balancer: Balancer | undefined;
  let nodes: RunningNode[] = [];
  let locked = false;
  let started = false;
  let stopping: Promise<void> | undefined;

  let stopRequested = false;
  /** Ctrl-C during start-up: stop starting things, then tear down what exists. */
  const checkpoint = () => {
    if (stopRequested) throw new UpRefused('interrupted');
  };

  const teardown = async () => {
    const live = nodes.filter((n) => !n.hasExited());
    if (live.length) out.line(`stopping ${live.map((n) => n.spec.ports.name).join(', ')} ...`);
    await Promise.all(nodes.map((n) => n.stop()));
    await balancer?.close().catch((err) => out.error(`load balancer: ${(err as Error).message}`));
    await echo?.close().catch(() => {});
    if (postgres) {
      out.line('stopping Postgres ...');
      await postgres.stop().catch((err) => out.error((err as Error).message));
    }
    if (locked) releaseLock(dir);
    if (started) out.line('gossamer up: stopped');
  };

  const start = async () => {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 50) throw new UpRefused(`--nodes must be between 1 and 50 (got ${opts.nodes})`);
    const taken = acquireLock(dir, lock);
    if (!taken.ok) {
      throw new UpRefused(
        `gossamer up is already running in ${rel(dir)} (pid ${taken.running.pid}, load balancer ${taken.running.balancerUrl}).\n` +
          `Use that cluster, or stop it first (Ctrl-C in its terminal, or: kill -INT ${taken.running.pid}).`,
      );
    }
    locked = true;
    await reapLeftovers(taken.stale, nodesDir, path.join(dir, 'pg'), out);

    checkpoint();
    const problems = await checkPorts(portClaims(ports), LOOPBACK);
    if (problems.length) throw new UpRefused(problems.join('\n'));

    started = true;
    out.line(`starting Postgres on ${LOOPBACK}:${opts.pgPort} (data in ${rel(path.join(dir, 'pg'))}) ...`);
    postgres = await startUpPostgres({ dir: path.join(dir, 'pg'), port: opts.pgPort, logFile: path.join(dir, 'postgres.log') });
    await ensureDatabase({ host: LOOPBACK, port: opts.pgPort, ...postgres.superuser }, db);
    checkpoint();
    out.line(await migrateDatabase(db));
    checkpoint();

    echo = await startEchoServer({ host: LOOPBACK, port: opts.echoPort });
    const specs = ports.nodes.map((p) => nodeSpec(nodesDir, p));
    out.line(`starting ${specs.length} node(s): ${specs.map((s) => s.ports.name).join(', ')} (logs in ${rel(nodesDir)}/<name>/gossamer.log) ...`);
    nodes = specs.map((s, i) => startNode(s, db, i === 0 ? null : ports.nodes[0]!));
    lock.children = [...nodes.map((n) => n.child.pid!).filter(Boolean), postgres.pid() ?? 0].filter((p) => p > 0);
    updateLock(dir, lock);

    const balancerLog = pino({ level: 'info', base: { node: 'load-balancer' } }, pino.destination({ dest: path.join(dir, 'balancer.log'), sync: false, mkdir: true }));
    balancer = await startBalancer({
      listen: { host: LOOPBACK, port: opts.port },
      backends: specs.map((s) => ({
        name: s.ports.name,
        proxyUrl: `http://${LOOPBACK}:${s.ports.proxy}`,
        statusUrl: `http://${LOOPBACK}:${s.ports.admin}/status`,
      })),
      logger: balancerLog,
    });

    checkpoint();
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
    const adminUrl = (n: RunningNode) => `http://${LOOPBACK}:${n.spec.ports.admin}`;
    const assertRunning = () => {
      checkpoint();
      const dead = nodes.find((n) => n.hasExited());
      if (dead) throw new Error(`${dead.spec.ports.name} exited while starting; last lines of ${rel(dead.spec.logFile)}:\n${logTail(dead.spec.logFile)}`);
    };
    const pending = new Set(nodes);
    while (pending.size) {
      assertRunning();
      for (const n of [...pending]) if (await statusOk(adminUrl(n))) pending.delete(n);
      if (!pending.size) break;
      if (Date.now() > deadline) {
        throw new Error(`not every node answered GET /status in time: ${[...pending].map((n) => `${n.spec.ports.name} (log: ${rel(n.spec.logFile)})`).join(', ')}`);
      }
      await sleep(250);
    }

    const names = nodes.map((n) => n.spec.ports.name);
    let converged = false;
    while (Date.now() < deadline) {
      assertRunning();
      const views = await Promise.all(nodes.map((n) => members(adminUrl(n))));
      if (views.every((v) => allAlive(v, names))) {
        converged = true;
        break;
      }
      await sleep(300);
    }
    const view = (await members(adminUrl(nodes[0]!))) ?? [];
    const rows: NodeRow[] = nodes.map((n) => ({
      name: n.spec.ports.name,
      proxy: `http://${LOOPBACK}:${n.spec.ports.proxy}`,
      admin: adminUrl(n),
      cluster: `${LOOPBACK}:${n.spec.ports.cluster}`,
      status: view.find((m) => m.name === n.spec.ports.name)?.status ?? 'up (membership unknown)',
    }));

    out.line('');
    out.line(`Gossamer is running: ${nodes.length} node(s) behind the load balancer at ${balancer.url}`);
    out.line('');
    out.line(table(rows));
    out.line('');
    out.line(`Postgres: ${LOOPBACK}:${opts.pgPort}, database ${db.database}, user ${db.user}, password ${db.password} (data in ${rel(path.join(dir, 'pg'))})`);
    if (!converged) out.error(`warning: not every node lists all ${nodes.length} members as alive yet; see the logs in ${rel(nodesDir)}`);
    out.line('');
    out.line('Try it:');
    out.line(examplesText({ adminUrl: adminUrl(nodes[0]!), balancerUrl: balancer.url, echoUrl: echo.url }));
    out.line('');
    out.line('Press Ctrl-C to stop the cluster.');

    for (const n of nodes) {
      void n.exited.then((how) => {
        if (!stopping) out.error(`${n.spec.ports.name} exited (${how}); the load balancer now skips it. Log: ${rel(n.spec.logFile)}`);
      });
    }
  };

  const starting = start();
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopRequested = true;
      await starting.catch(() => {});
      await teardown();
    })());
  const ready = starting.catch(async (err) => {
    await stop();
    throw err;
  });
  return { ready, stop };
}
