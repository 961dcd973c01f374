// Primary side of the proxy workers (Kong's nginx_worker_processes): forks `count` workers
// with node:cluster, feeds them the configuration and every change over IPC, restarts a
// crashed worker with the current configuration, and owns the node's rate-limit totals.
// A (re)started worker gets `snapshot()` as of that moment: the caller's cache of record,
// which is always at least as new as the changes broadcast so far.
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { Logger } from 'pino';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import type { HealthReport } from './balancer/index.ts';
import { LocalCounters } from './counters.ts';
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
  /** Resolves when `n` workers (default: count) are listening. */
  ready(n?: number): Promise<void>;
  stop(): Promise<void>;
}

export function workerCount(count: number | 'auto'): number {
  if (count === 'auto') return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  if (!Number.isInteger(count) || count < 1) throw new Error(`worker_processes must be 'auto' or a positive integer, got '${count}'`);
  return count;
}

export async function startProxyWorkers(opts: ProxyWorkersOptions): Promise<ProxyWorkers> {
  if (!cluster.isPrimary) throw new Error('startProxyWorkers must run in the primary process');
  const n = workerCount(opts.count);
  const log = opts.logger;
  const counters = new LocalCounters();
  const live = new Map<number, Worker>();
  const listening = new Set<number>();
  let readyWaiters: { n: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  let stopping = false;
  let crashes = 0;
  let statsSeq = 0;
  const settleWaiters = new Map<number, { left: number; resolve: () => void }>();
  const statsWaiters = new Map<number, { want: number; got: WorkerInfo[]; resolve: (w: WorkerInfo[]) => void }>();

  const post = (w: Worker, m: ToWorker): void => {
    if (w.isConnected()) w.send(m);
  };

  const checkReady = (): void => {
    readyWaiters = readyWaiters.filter((r) => {
      if (listening.size >= r.n) r.resolve();
      return listening.size < r.n;
    });
  };

  const fork = (): void => {
    const adopted = adoptEarlyWorker();
    const w = adopted?.worker ?? forkProxyWorker();
    live.set(w.id, w);
    w.on('message', (m: FromWorker) => {
      switch (m.t) {
        case 'gossamer:hello':
          // The snapshot is taken now, so a restarted worker starts from the current config;
          // events broadcast after this point reach it through the normal path.
          post(w, {
            t: 'gossamer:init',
            snapshot: opts.snapshot(),
            listen: opts.listen,
            nodeName: opts.nodeName ?? 'gossamer',
            logLevel: opts.logLevel ?? 'info',
            options: opts.server ?? {},
          });
          if (opts.health) post(w, { t: 'gossamer:health', reports: opts.health() });
          break;
        case 'gossamer:ready':
          listening.add(w.id);
          crashes = 0;
          log.info({ worker: w.id, workerPid: w.process.pid }, 'proxy worker listening');
          checkReady();
          break;
        case 'gossamer:rl': {
          const totals = counters.merge(m.entries);
          for (const other of live.values()) post(other, { t: 'gossamer:rl-totals', entries: totals, to: w.id, acked: m.entries });
          break;
        }
        case 'gossamer:stats': {
          const s = statsWaiters.get(m.id);
          if (!s) break;
          s.got.push({ id: w.id, pid: m.pid, requests: m.requests });
          if (s.got.length >= s.want) {
            statsWaiters.delete(m.id);
            s.resolve(s.got);
          }
          break;
        }
        case 'gossamer:settled': {
          const s = settleWaiters.get(m.id);
          if (s && --s.left === 0) {
            settleWaiters.delete(m.id);
            s.resolve();
          }
          break;
        }
        case 'gossamer:health':
          opts.onHealth?.(m.reports);
          break;
        case 'gossamer:fatal':
          log.error({ worker: w.id, error: m.error }, 'proxy worker failed to start');
          break;
      }
    });
    w.on('exit', (code, signal) => {
      live.delete(w.id);
      listening.delete(w.id);
      if (stopping) return;
      crashes++;
      const delay = Math.min(5000, (opts.restartDelayMs ?? 100) * 2 ** Math.min(crashes - 1, 6));
      log.error({ worker: w.id, workerPid: w.process.pid, code, signal, restartInMs: delay }, 'proxy worker died; restarting');
      setTimeout(() => {
        if (!stopping) fork();
      }, delay).unref();
    });
    // An early-forked worker may have said hello before this listener existed.
    for (const m of adopted?.early ?? []) w.emit('message', m);
  };

  for (let i = 0; i < n; i++) fork();
  dropEarlyWorkers();
  // Loaded on the first /metrics, not at start: a data plane restarted from its cache must
  // serve within 2 s, and prom-client is a tenth of a second of module loading.
  let aggregator: Promise<import('prom-client').AggregatorRegistry<import('prom-client').RegistryContentType>> | null = null;

  const api: ProxyWorkers = {
    broadcast(events) {
      if (!events.length) return;
      for (const w of live.values()) post(w, { t: 'gossamer:events', events });
    },
    loadSnapshot(snapshot) {
      for (const w of live.values()) post(w, { t: 'gossamer:snapshot', snapshot });
    },
    broadcastHealth(reports) {
      for (const w of live.values()) post(w, { t: 'gossamer:health', reports });
    },
    workers() {
      const id = ++statsSeq;
      const targets = [...live.values()].filter((w) => listening.has(w.id));
      if (!targets.length) return Promise.resolve([]);
      return new Promise((resolve) => {
        statsWaiters.set(id, { want: targets.length, got: [], resolve });
        for (const w of targets) post(w, { t: 'gossamer:stats?', id });
        setTimeout(() => {
          const s = statsWaiters.get(id);
          if (s) {
            statsWaiters.delete(id);
            resolve(s.got);
          }
        }, 2000).unref();
      });
    },
    settled(timeoutMs = 2000) {
      const id = ++statsSeq;
      const targets = [...live.values()].filter((w) => listening.has(w.id));
      if (!targets.length) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          settleWaiters.delete(id);
          resolve();
        }, timeoutMs);
        timer.unref();
        settleWaiters.set(id, {
          left: targets.length,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        for (const w of targets) post(w, { t: 'gossamer:settled?', id });
      });
    },
    metrics: () => (aggregator ??= import('prom-client').then((m) => new m.AggregatorRegistry())).then((a) => a.clusterMetrics()),
    ready(want = n) {
      if (listening.size >= want) return Promise.resolve();
      return new Promise((resolve, reject) => readyWaiters.push({ n: want, resolve, reject }));
    },
    async stop() {
      stopping = true;
      const exits = [...live.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            post(w, { t: 'gossamer:stop' });
            setTimeout(() => {
              if (!w.isDead()) w.process.kill('SIGKILL');
            }, 6000).unref();
          }),
      );
      await Promise.all(exits);
      counters.close();
      for (const r of readyWaiters) r.reject(new Error('proxy workers stopped'));
      readyWaiters = [];
    },
  };
  return api;
}
