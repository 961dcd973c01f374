// One real `gossamer start` process: its config file, prefix, ports, and the signals the
// nemesis sends it. The process runs in its own process group so a signal reaches its workers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeState } from '../history.ts';
import { trackGroup } from './reaper.ts';
import { PRIMARY_NODE_FLAGS } from '../../src/up/nodes.ts';

const BIN = fileURLToPath(new URL('../../bin/gossamer.js', import.meta.url));

export interface NodePorts {
  proxy: number;
  admin: number;
  cluster: number;
}

export interface SimNodeOptions {
  name: string;
  dir: string;
  ports: NodePorts;
  config: Record<string, string | number | boolean>;
  onState: (node: string, state: NodeState, crashed?: string) => void;
  /** How long start() waits for /status to answer. */
  readyTimeoutMs?: number;
  /** Where the node's listeners are (`--net netns`: its namespace's address); 127.0.0.1 by default. */
  host?: string;
  /** Command prefix the node runs under (`--net netns`: `ip netns exec <ns>`, which execs: same pid). */
  wrap?: string[];
}

function confValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return String(v);
}

export class SimNode {
  readonly name: string;
  readonly ports: NodePorts;
  readonly prefix: string;
  readonly confFile: string;
  readonly logFile: string;
  state: NodeState = 'down';
  peerId: string | undefined;
  private proc: ChildProcess | undefined;
  /** Every process group this node ever had: a crashed primary can leave workers behind. */
  private groups: { pid: number; untrack: () => void }[] = [];
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SimNodeOptions) {
    this.name = opts.name;
    this.ports = opts.ports;
    this.prefix = path.join(opts.dir, 'prefix');
    this.confFile = path.join(opts.dir, 'gossamer.conf');
    this.logFile = path.join(opts.dir, 'node.log');
    fs.mkdirSync(this.prefix, { recursive: true });
    const lines = Object.entries(opts.config).map(([k, v]) => `${k} = ${confValue(v)}`);
    fs.writeFileSync(this.confFile, `# written by the chaos simulator for ${opts.name}\n${lines.join('\n')}\n`);
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }
  get adminUrl(): string {
    return `http://${this.host}:${this.ports.admin}`;
  }
  get proxyUrl(): string {
    return `http://${this.host}:${this.ports.proxy}`;
  }
  /** The Postgres port this node is configured with (the harness's fault proxy, or Postgres itself). */
  get pgPort(): number | undefined {
    const p = this.opts.config.pg_port;
    return p === undefined ? undefined : Number(p);
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private setState(s: NodeState, crashed?: string): void {
    this.state = s;
    this.opts.onState(this.name, s, crashed);
  }

  /** Spawn the process and wait until its Admin API answers /status. */
  async start(): Promise<void> {
    if (this.proc) throw new Error(`${this.name}: already running (pid ${this.proc.pid})`);
    this.setState('starting');
    const log = fs.openSync(this.logFile, 'a');
    const [cmd, ...args] = [...(this.opts.wrap ?? []), process.execPath, ...PRIMARY_NODE_FLAGS, BIN, 'start', '-c', this.confFile, '-p', this.prefix];
    const proc = spawn(cmd!, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    fs.closeSync(log);
    this.proc = proc;
    this.groups.push({ pid: proc.pid!, untrack: trackGroup(proc.pid!, this.name) });
    this.exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', (code, signal) => {
      if (this.proc === proc) {
        this.proc = undefined;
        // kill() marks the node down before signalling and stop() marks it stopping: any
        // other exit is the node's own doing.
        if (this.state !== 'down' && this.state !== 'stopping') this.setState('down', signal ? `signal ${signal}` : `exit code ${code}`);
        else if (this.state !== 'down') this.setState('down');
        fs.appendFileSync(this.logFile, `# sim: process exited code=${code} signal=${signal}\n`);
      }
    });
    // Generous: on a busy 2-core machine a node (tsx start, libp2p, Postgres) can take 30 s to boot.
    await this.waitReady(this.opts.readyTimeoutMs ?? 90_000);
    this.setState('up');
  }

  /**
   * Up means the Admin API answers /status and, unless the node proxies nothing (a control
   * plane), the proxy answers too (any status): the checker judges a restarted node from then,
   * and a proxy worker still booting is boot time, not the cluster's convergence.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const answers = async (url: string, ok: (status: number) => boolean) => {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        return ok(r.status);
      } catch {
        return false; // not listening yet
      }
    };
    while (Date.now() < until) {
      if (!this.proc) throw new Error(`${this.name}: exited during start; see ${this.logFile}:\n${tail(this.logFile)}`);
      if ((await answers(`${this.adminUrl}/status`, (s) => s === 200)) && (this.opts.config.proxy_listen === 'off' || (await answers(`${this.proxyUrl}/`, () => true)))) return;
      await sleep(100);
    }
    throw new Error(`${this.name}: /status or the proxy did not answer within ${timeoutMs} ms; see ${this.logFile}:\n${tail(this.logFile)}`);
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.proc?.pid) throw new Error(`${this.name}: not running`);
    process.kill(-this.proc.pid, sig);
  }

  async kill(): Promise<void> {
    if (!this.proc) return;
    this.setState('down');
    this.signal('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.signal('SIGSTOP');
    this.setState('paused');
  }

  resume(): void {
    this.signal('SIGCONT');
    this.setState('up');
  }

  /** Graceful stop (SIGTERM, the node drains and leaves); SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.proc) return;
    if (this.state === 'paused') this.signal('SIGCONT');
    this.setState('stopping');
    // Only the primary: it stops its own workers in order.
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc?.pid && process.kill(-this.proc.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.setState('down');
  }

  /** SIGKILL whatever is left of every process group this node had. */
  reap(): void {
    for (const g of this.groups) {
      try {
        process.kill(-g.pid, 'SIGKILL');
      } catch {
        // the group is gone: the normal case
      }
      g.untrack();
    }
    this.groups = [];
  }

  async restart(): Promise<void> {
    if (this.proc) await this.kill();
    await this.start();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
