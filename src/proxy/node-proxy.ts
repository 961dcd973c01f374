// The proxy as the node runs it: `worker_processes` proxy workers (node:cluster) fed over IPC
// by the primary. The primary keeps the Admin API, the database and the cluster; a worker is a
// small data plane of its node (DESIGN.md, Processes).
import net from 'node:net';
import type { Logger } from 'pino';
import type { Listen } from '../config/index.ts';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import { startProxyWorkers, workerCount, type ProxyWorkers } from './workers.ts';

export interface NodeProxyOptions {
  workerProcesses: number | 'auto';
  listen: Listen[];
  snapshot: () => ConfigSnapshot;
  logger: Logger;
  nodeName: string;
  logLevel: string;
}

export interface NodeProxy {
  readonly workerCount: number;
  applyChanges(events: ChangeEvent[]): void;
  loadSnapshot(snapshot: ConfigSnapshot): void;
  /** Resolves when every worker serves every change handed over so far (bounded wait). */
  settled(): Promise<void>;
  /** Prometheus text of the proxy (merged over workers). */
  metrics(): Promise<string>;
  workers: ProxyWorkers['workers'];
  stop(): Promise<void>;
}

export async function startNodeProxy(o: NodeProxyOptions): Promise<NodeProxy> {
  // Workers share one listening socket through node:cluster, so one address is served; Kong's
  // default second listener (8443 ssl) has no TLS termination here yet.
  const [first, ...rest] = o.listen;
  if (!first) throw new Error('proxy_listen is off');
  if (rest.length) o.logger.warn({ ignored: rest.map((l) => `${l.host}:${l.port}`) }, 'proxy_listen: only the first address is served');
  if (first.flags.includes('ssl')) o.logger.warn({ listen: `${first.host}:${first.port}` }, "proxy_listen: the 'ssl' flag is not supported yet; serving plain HTTP");
  // A busy port would only show as workers dying and being restarted; say it plainly instead.
  await assertBindable(first.host, first.port);
  const workers = await startProxyWorkers({
    count: o.workerProcesses,
    listen: { host: first.host, port: first.port },
    snapshot: o.snapshot,
    logger: o.logger,
    nodeName: o.nodeName,
    logLevel: o.logLevel,
  });
  try {
    await withTimeout(workers.ready(), 60_000, `proxy workers did not start listening on ${first.host}:${first.port} within 60 s`);
  } catch (err) {
    await workers.stop();
    throw err;
  }
  return {
    workerCount: workerCount(o.workerProcesses),
    applyChanges: (events) => workers.broadcast(events),
    loadSnapshot: (snapshot) => workers.loadSnapshot(snapshot),
    settled: () => workers.settled(),
    metrics: () => workers.metrics(),
    workers: () => workers.workers(),
    stop: () => workers.stop(),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function assertBindable(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`proxy_listen ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message}`)),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}
