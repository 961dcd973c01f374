// Primary side of the proxy workers (Kong's nginx_worker_processes): forks `count` workers
// with node:cluster, feeds them the configuration and every change over IPC, restarts a
// crashed worker with the current configuration, and owns the node's rate-limit totals.
// A (re)started worker gets `snapshot()` as of that moment: the caller's cache of record,
// which is always at least as new as the changes broadcast so far.
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import v8 from 'node:v8';
import type { Logger } from 'pino';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import type { HealthReport } from './balancer/index.ts';
import type { TotalsEntry } from './counters.ts';
import { NodeCounters, type CounterEntry, type SharedCounters } from './node-counters.ts';
import { adoptEarlyWorker, dropEarlyWorkers, forkProxyWorker } from './fork-worker.ts';
import type { FromWorker, PackedSnapshot, ToWorker, WorkerServerOptions } from './worker-messages.ts';

export interface ProxyWorkersOptions {
  /** `auto` = one per CPU (Kong's worker_processes = auto). */
  count: number | 'auto';
  listen: { host: string; port: number };
  /**
   * The configuration as of now, read whenever a worker (re)starts. It must already include
   * every change passed to broadcast() (the node's cache of record applies before it hands on).
   */
  snapshot: () => ConfigSnapshot | PackedSnapshot;
  logger: Logger;
  nodeName?: string;
  logLevel?: string;
  server?: WorkerServerOptions;
  /** The node's target health verdicts, handed to each (re)started worker after its init. */
  health?: () => HealthReport[];
  /** A worker's passive checks turned a target healthy or unhealthy. */
  onHealth?: (reports: HealthReport[]) => void;
  /** Wait before re-forking a crashed worker (ms); doubles on repeated crashes up to 5 s. */
  restartDelayMs?: number;
}

export interface WorkerInfo {
  id: number;
  pid: number;
  requests: number;
}

export interface ProxyWorkers {
  broadcast(events: ChangeEvent[]): void;
  loadSnapshot(snapshot: ConfigSnapshot | PackedSnapshot): void;
  /** Target health verdicts reached by the primary's active checks. */
  broadcastHealth(reports: HealthReport[]): void;
  /** Live workers with their served request counts. */
  workers(): Promise<WorkerInfo[]>;
  /**
   * Resolves once every listening worker serves all changes broadcast so far (or after
   * `timeoutMs`, so a stuck worker never holds an Admin API write for long).
   */
  settled(timeoutMs?: number): Promise<void>;
  /** Metrics text (exposition format) merged over all workers. */
  metrics(): Promise<string>;
  /** The counters shared with the cluster (policy = cluster). */
  readonly shared: SharedCounters;
  /** A plugin's question to every listening worker (PluginPackage.worker); the answers that came within timeoutMs. */
  ask(plugin: string, msg: unknown, timeoutMs?: number): Promise<unknown[]>;
  /** Resolves when `n` workers (default: count) are listening. */
  ready(n?: number): Promise<void>;
  stop(): Promise<void>;
}

export function workerCount(count: number | 'auto'): number {
  if (count === 'auto') return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  if (!Number.isInteger(count) || count < 1) throw new Error(`worker_processes must be 'auto' or a positive integer, got '${count}'`);
  return count;
}

type PromClient = typeof import('prom-client');
type Aggregator = import('prom-client').AggregatorRegistry<import('prom-client').RegistryContentType>;

/** The primary's view of its workers: who is live and listening, and the requests waiting on their answers. */
class WorkerPool implements ProxyWorkers {
  private readonly counters = new NodeCounters();
  /** The live members and this node's place among them: a worker's first part of a key it has no news of. */
  private split = { n: 1, place: 0 };
  private readonly live = new Map<number, Worker>();
  private readonly listening = new Set<number>();
  private readyWaiters: { n: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private stopping = false;
  private crashes = 0;
  private statsSeq = 0;
  private readonly settleWaiters = new Map<number, { left: number; resolve: () => void }>();
  private readonly statsWaiters = new Map<number, { want: number; got: WorkerInfo[]; resolve: (w: WorkerInfo[]) => void }>();
  private readonly pluginWaiters = new Map<number, { want: number; got: unknown[]; resolve: (r: unknown[]) => void }>();
  // Loaded on the first /metrics, not at start: a data plane restarted from its cache must
  // serve within 2 s, and prom-client is a tenth of a second of module loading.
  private aggregator: Promise<Aggregator> | null = null;

  constructor(
    private readonly opts: ProxyWorkersOptions,
    /** How many workers the pool keeps. */
    readonly n: number,
  ) {
    // Holds the counters' own timer changed (a claim at this node's turn, a part given back).
    this.counters.onPush((entries) => this.postTotals(entries));
  }

  private postTotals(entries: TotalsEntry[]): void {
    for (const w of this.live.values()) this.post(w, { t: 'gossamer:rl-totals', entries, to: 0, acked: [] });
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  private post(w: Worker, m: ToWorker): void {
    if (w.isConnected()) w.send(m);
  }

  private checkReady(): void {
    this.readyWaiters = this.readyWaiters.filter((r) => {
      if (this.listening.size >= r.n) r.resolve();
      return this.listening.size < r.n;
    });
  }

  /** Forks one worker (or adopts one forked early, before the node's modules loaded). */
  fork(): void {
    const adopted = adoptEarlyWorker();
    const w = adopted?.worker ?? forkProxyWorker();
    this.live.set(w.id, w);
    w.on('message', (m: FromWorker) => this.onMessage(w, m));
    w.on('exit', (code, signal) => this.onExit(w, code, signal));
    // An early-forked worker may have said hello before this listener existed.
    for (const m of adopted?.early ?? []) w.emit('message', m);
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const opts = this.opts;
    switch (m.t) {
      case 'gossamer:hello':
        // The snapshot is taken now, so a restarted worker starts from the current config;
        // events broadcast after this point reach it through the normal path.
        this.post(w, {
          t: 'gossamer:init',
          snapshot: opts.snapshot(),
          listen: opts.listen,
          nodeName: opts.nodeName ?? 'gossamer',
          logLevel: opts.logLevel ?? 'info',
          options: opts.server ?? {},
        });
        if (opts.health) this.post(w, { t: 'gossamer:health', reports: opts.health() });
        break;
      case 'gossamer:ready':
        this.listening.add(w.id);
        this.crashes = 0;
        this.log.info({ worker: w.id, workerPid: w.process.pid }, 'proxy worker listening');
        this.post(w, { t: 'gossamer:rl-split', ...this.split });
        this.checkReady();
        break;
      case 'gossamer:rl': {
        const totals = this.counters.merge(m.entries);
        for (const other of this.live.values()) this.post(other, { t: 'gossamer:rl-totals', entries: totals, to: w.id, acked: m.entries });
        break;
      }
      case 'gossamer:stats':
        this.onStats(w, m.id, m.pid, m.requests);
        break;
      case 'gossamer:plugin-tell':
        for (const other of this.live.values()) if (other !== w) this.post(other, { t: 'gossamer:plugin?', id: 0, plugin: m.plugin, msg: m.msg });
        break;
      case 'gossamer:plugin': {
        const p = this.pluginWaiters.get(m.id);
        if (p) {
          p.got.push(m.result);
          if (p.got.length >= p.want) {
            this.pluginWaiters.delete(m.id);
            p.resolve(p.got);
          }
        }
        break;
      }
      case 'gossamer:settled': {
        const s = this.settleWaiters.get(m.id);
        if (s && --s.left === 0) {
          this.settleWaiters.delete(m.id);
          s.resolve();
        }
        break;
      }
      case 'gossamer:health':
        opts.onHealth?.(m.reports);
        break;
      case 'gossamer:fatal':
        this.log.error({ worker: w.id, error: m.error }, 'proxy worker failed to start');
        break;
    }
  }

  private onStats(w: Worker, id: number, pid: number, requests: number): void {
    const s = this.statsWaiters.get(id);
    if (!s) return;
    s.got.push({ id: w.id, pid, requests });
    if (s.got.length >= s.want) {
      this.statsWaiters.delete(id);
      s.resolve(s.got);
    }
  }

  /** A crashed worker is forked again, later each time it keeps crashing. */
  private onExit(w: Worker, code: number, signal: string): void {
    this.live.delete(w.id);
    this.listening.delete(w.id);
    if (this.stopping) return;
    this.crashes++;
    const delay = Math.min(5000, (this.opts.restartDelayMs ?? 100) * 2 ** Math.min(this.crashes - 1, 6));
    this.log.error({ worker: w.id, workerPid: w.process.pid, code, signal, restartInMs: delay }, 'proxy worker died; restarting');
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delay).unref();
  }

  private listeningWorkers(): Worker[] {
    return [...this.live.values()].filter((w) => this.listening.has(w.id));
  }

  broadcast(events: ChangeEvent[]): void {
    if (!events.length) return;
    for (const w of this.live.values()) this.post(w, { t: 'gossamer:events', events });
  }

  loadSnapshot(snapshot: ConfigSnapshot | PackedSnapshot): void {
    // Serialized once for every worker: 10,000 routes and consumers are ~50 ms of the primary's
    // CPU per structured clone, and the workers start building only once the last is sent.
    const sent = 'packed' in snapshot || this.live.size === 0 ? snapshot : { v8: v8.serialize(snapshot) };
    for (const w of this.live.values()) this.post(w, { t: 'gossamer:snapshot', snapshot: sent });
  }

  broadcastHealth(reports: HealthReport[]): void {
    for (const w of this.live.values()) this.post(w, { t: 'gossamer:health', reports });
  }

  workers(): Promise<WorkerInfo[]> {
    const id = ++this.statsSeq;
    const targets = this.listeningWorkers();
    if (!targets.length) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.statsWaiters.set(id, { want: targets.length, got: [], resolve });
      for (const w of targets) this.post(w, { t: 'gossamer:stats?', id });
      setTimeout(() => {
        const s = this.statsWaiters.get(id);
        if (s) {
          this.statsWaiters.delete(id);
          resolve(s.got);
        }
      }, 2000).unref();
    });
  }

  /** The node's counters as the cluster sharing sees them (policy = cluster). */
  readonly shared: SharedCounters = {
    takeChanged: () => this.counters.takeChanged(),
    applyRemote: (node: string, entries: CounterEntry[]) => {
      const totals = this.counters.applyRemote(node, entries);
      if (totals.length) this.postTotals(totals);
    },
    onChange: (cb: (urgent: boolean) => void) => this.counters.onChange(cb),
    setMembers: (self: string, live: string[]) => {
      this.counters.setMembers(self, live);
      const split = this.counters.firstPartSplit();
      if (split.n === this.split.n && split.place === this.split.place) return;
      this.split = split;
      for (const w of this.live.values()) this.post(w, { t: 'gossamer:rl-split', ...split });
    },
  };

  ask(plugin: string, msg: unknown, timeoutMs = 2000): Promise<unknown[]> {
    const id = ++this.statsSeq;
    const targets = this.listeningWorkers();
    if (!targets.length) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.pluginWaiters.set(id, { want: targets.length, got: [], resolve });
      for (const w of targets) this.post(w, { t: 'gossamer:plugin?', id, plugin, msg });
      // A worker that died meanwhile never answers: the others' answers are what there is.
      setTimeout(() => {
        const p = this.pluginWaiters.get(id);
        if (p) {
          this.pluginWaiters.delete(id);
          resolve(p.got);
        }
      }, timeoutMs).unref();
    });
  }

  settled(timeoutMs = 2000): Promise<void> {
    const id = ++this.statsSeq;
    const targets = this.listeningWorkers();
    if (!targets.length) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.settleWaiters.delete(id);
        resolve();
      }, timeoutMs);
      timer.unref();
      this.settleWaiters.set(id, {
        left: targets.length,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      for (const w of targets) this.post(w, { t: 'gossamer:settled?', id });
    });
  }

  metrics(): Promise<string> {
    return (this.aggregator ??= import('prom-client').then((m: PromClient) => new m.AggregatorRegistry())).then((a) => a.clusterMetrics());
  }

  ready(want = this.n): Promise<void> {
    if (this.listening.size >= want) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ n: want, resolve, reject }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.live.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', () => resolve());
          this.post(w, { t: 'gossamer:stop' });
          setTimeout(() => {
            if (!w.isDead()) w.process.kill('SIGKILL');
          }, 6000).unref();
        }),
    );
    await Promise.all(exits);
    this.counters.close();
    for (const r of this.readyWaiters) r.reject(new Error('proxy workers stopped'));
    this.readyWaiters = [];
  }
}

export async function startProxyWorkers(opts: ProxyWorkersOptions): Promise<ProxyWorkers> {
  if (!cluster.isPrimary) throw new Error('startProxyWorkers must run in the primary process');
  const pool = new WorkerPool(opts, workerCount(opts.count));
  for (let i = 0; i < pool.n; i++) pool.fork();
  dropEarlyWorkers();
  return pool;
}
