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
import { logTail, nodeSpec, startNode, type NodeSpec, type RunningNode } from './nodes.ts';
import { checkPorts, nodePorts, portClaims, type UpPorts } from './ports.ts';
import { startUpPostgres, stopLeftoverPostgres, upPostgresPlace, type UpPostgres } from './postgres.ts';
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

/** One `gossamer up`: what it has started so far, so teardown stops exactly that, in reverse. */
class UpRun {
  private readonly dir: string;
  private readonly nodesDir: string;
  private readonly ports: UpPorts;
  private readonly db: UpDatabase;
  private readonly lock: UpLockInfo;
  private postgres: UpPostgres | undefined;
  private echo: EchoServer | undefined;
  private balancer: Balancer | undefined;
  private nodes: RunningNode[] = [];
  private locked = false;
  private started = false;
  private stopRequested = false;
  /** Set once stop() is called; a node exiting after that is expected. */
  stopping: Promise<void> | undefined;

  constructor(
    private readonly opts: UpOptions,
    private readonly out: UpOutput,
  ) {
    this.dir = path.resolve(opts.dir);
    this.nodesDir = path.join(this.dir, 'nodes');
    this.ports = { balancer: opts.port, postgres: opts.pgPort, echo: opts.echoPort, nodes: nodePorts(opts.basePort, opts.nodes) };
    this.db = { host: LOOPBACK, port: opts.pgPort, user: 'gossamer', password: 'gossamer', database: 'gossamer' };
    this.lock = { pid: process.pid, startedAt: new Date().toISOString(), balancerUrl: `http://${LOOPBACK}:${opts.port}`, children: [] };
  }

  /** Ctrl-C during start-up: stop starting things, then tear down what exists. */
  private checkpoint(): void {
    if (this.stopRequested) throw new UpRefused('interrupted');
  }

  requestStop(): void {
    this.stopRequested = true;
  }

  async teardown(): Promise<void> {
    const { out } = this;
    const live = this.nodes.filter((n) => !n.hasExited());
    if (live.length) out.line(`stopping ${live.map((n) => n.spec.ports.name).join(', ')} ...`);
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.balancer?.close().catch((err) => out.error(`load balancer: ${(err as Error).message}`));
    await this.echo?.close().catch(() => {});
    if (this.postgres) {
      out.line('stopping Postgres ...');
      await this.postgres.stop().catch((err) => out.error((err as Error).message));
    }
    if (this.locked) releaseLock(this.dir);
    if (this.started) out.line('gossamer up: stopped');
  }

  async start(): Promise<void> {
    await this.takeLock();
    this.checkpoint();
    const problems = await checkPorts(portClaims(this.ports), LOOPBACK);
    if (problems.length) throw new UpRefused(problems.join('\n'));
    this.started = true;
    await this.startDatabase();
    const echo = (this.echo = await startEchoServer({ host: LOOPBACK, port: this.opts.echoPort }));
    const specs = this.startNodes();
    const balancer = await this.startLoadBalancer(specs);
    this.checkpoint();
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 120_000);
    await this.waitForStatus(deadline);
    const converged = await this.waitForMembers(deadline);
    await this.printBanner(balancer, echo, converged);
    for (const n of this.nodes) {
      void n.exited.then((how) => {
        if (!this.stopping) this.out.error(`${n.spec.ports.name} exited (${how}); the load balancer now skips it. Log: ${rel(n.spec.logFile)}`);
      });
    }
  }

  /** Checks --nodes, then takes the state directory (one `gossamer up` each); what a crashed one left running is stopped first. */
  private async takeLock(): Promise<void> {
    const { opts, dir } = this;
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 50) throw new UpRefused(`--nodes must be between 1 and 50 (got ${opts.nodes})`);
    const taken = acquireLock(dir, this.lock);
    if (!taken.ok) {
      throw new UpRefused(
        `gossamer up is already running in ${rel(dir)} (pid ${taken.running.pid}, load balancer ${taken.running.balancerUrl}).\n` +
          `Use that cluster, or stop it first (Ctrl-C in its terminal, or: kill -INT ${taken.running.pid}).`,
      );
    }
    this.locked = true;
    await reapLeftovers(taken.stale, this.nodesDir, path.join(dir, 'pg'), this.out);
  }

  private async startDatabase(): Promise<void> {
    const { opts, dir, db, out } = this;
    const place = await upPostgresPlace(path.join(dir, 'pg'));
    if (place.relocated) {
      out.line(`running as root: Postgres runs as the 'postgres' user, which cannot reach ${rel(place.requested)}; its data and postgres.log are kept in ${place.home}/ instead (the same directory on every run from here)`);
    }
    out.line(`starting Postgres on ${LOOPBACK}:${opts.pgPort} (data in ${rel(place.dataDir)}) ...`);
    this.postgres = await startUpPostgres({ dir: path.join(dir, 'pg'), port: opts.pgPort, logFile: path.join(dir, 'postgres.log') });
    await ensureDatabase({ host: LOOPBACK, port: opts.pgPort, ...this.postgres.superuser }, db);
    this.checkpoint();
    out.line(await migrateDatabase(db));
    this.checkpoint();
  }

  /** The node processes, recorded in the lock for a later run to reap if this one crashes. */
  private startNodes(): NodeSpec[] {
    const { ports, nodesDir } = this;
    const specs = ports.nodes.map((p) => nodeSpec(nodesDir, p));
    this.out.line(`starting ${specs.length} node(s): ${specs.map((s) => s.ports.name).join(', ')} (logs in ${rel(nodesDir)}/<name>/gossamer.log) ...`);
    this.nodes = specs.map((s, i) => startNode(s, this.db, i === 0 ? null : ports.nodes[0]!));
    this.lock.children = [...this.nodes.map((n) => n.child.pid!).filter(Boolean), this.postgres!.pid() ?? 0].filter((p) => p > 0);
    updateLock(this.dir, this.lock);
    return specs;
  }

  private async startLoadBalancer(specs: NodeSpec[]): Promise<Balancer> {
    const balancerLog = pino({ level: 'info', base: { node: 'load-balancer' } }, pino.destination({ dest: path.join(this.dir, 'balancer.log'), sync: false, mkdir: true }));
    this.balancer = await startBalancer({
      listen: { host: LOOPBACK, port: this.opts.port },
      backends: specs.map((s) => ({
        name: s.ports.name,
        proxyUrl: `http://${LOOPBACK}:${s.ports.proxy}`,
        statusUrl: `http://${LOOPBACK}:${s.ports.admin}/status`,
      })),
      logger: balancerLog,
    });
    return this.balancer;
  }

  /** Interrupted, or a node died while starting: give up with the end of its log. */
  private assertRunning(): void {
    this.checkpoint();
    const dead = this.nodes.find((n) => n.hasExited());
    if (dead) throw new Error(`${dead.spec.ports.name} exited while starting; last lines of ${rel(dead.spec.logFile)}:\n${logTail(dead.spec.logFile)}`);
  }

  /** Every node answers GET /status (its Admin API is up and it has its configuration). */
  private async waitForStatus(deadline: number): Promise<void> {
    const pending = new Set(this.nodes);
    while (pending.size) {
      this.assertRunning();
      for (const n of [...pending]) if (await statusOk(adminUrl(n))) pending.delete(n);
      if (!pending.size) break;
      if (Date.now() > deadline) {
        throw new Error(`not every node answered GET /status in time: ${[...pending].map((n) => `${n.spec.ports.name} (log: ${rel(n.spec.logFile)})`).join(', ')}`);
      }
      await sleep(250);
    }
  }

  /** Every node lists every node as alive; false if the deadline came first (a warning, not a failure). */
  private async waitForMembers(deadline: number): Promise<boolean> {
    const names = this.nodes.map((n) => n.spec.ports.name);
    while (Date.now() < deadline) {
      this.assertRunning();
      const views = await Promise.all(this.nodes.map((n) => members(adminUrl(n))));
      if (views.every((v) => allAlive(v, names))) return true;
      await sleep(300);
    }
    return false;
  }

  private async printBanner(balancer: Balancer, echo: EchoServer, converged: boolean): Promise<void> {
    const { nodes, out, opts, db } = this;
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
    out.line(`Postgres: ${LOOPBACK}:${opts.pgPort}, database ${db.database}, user ${db.user}, password ${db.password} (data in ${rel(this.postgres!.place.dataDir)})`);
    if (!converged) out.error(`warning: not every node lists all ${nodes.length} members as alive yet; see the logs in ${rel(this.nodesDir)}`);
    out.line('');
    out.line('Try it:');
    out.line(examplesText({ adminUrl: adminUrl(nodes[0]!), balancerUrl: balancer.url, echoUrl: echo.url }));
    out.line('');
    out.line('Press Ctrl-C to stop the cluster.');
  }
}

function adminUrl(n: RunningNode): string {
  return `http://${LOOPBACK}:${n.spec.ports.admin}`;
}

export function runUp(opts: UpOptions, out: UpOutput): UpHandle {
  const run = new UpRun(opts, out);
  const starting = run.start();
  const stop = (): Promise<void> =>
    (run.stopping ??= (async () => {
      run.requestStop();
      await starting.catch(() => {});
      await run.teardown();
    })());
  const ready = starting.catch(async (err) => {
    await stop();
    throw err;
  });
  return { ready, stop };
}
