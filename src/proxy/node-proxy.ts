// The proxy as the node runs it: `worker_processes` proxy workers (node:cluster) fed over IPC
// by the primary. The primary keeps the Admin API, the database and the cluster; a worker is a
// small data plane of its node (docs/architecture.md, "Processes").
import net from 'node:net';
import type { Logger } from 'pino';
import type { Listen } from '../config/index.ts';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import type { NodeHealthChecks } from './balancer/node-health.ts';
import type { ListenAddress, ProxyServerOptions } from './server.ts';
import type { RealIpOptions } from './real-ip.ts';
import type { HealthReport } from './balancer/index.ts';
import type { PackedSnapshot } from './worker-messages.ts';
import { loadProxyTls, type ProxyTlsSettings, type TlsMaterial } from './tls-certs.ts';
import { startProxyWorkers, workerCount, type ProxyWorkers } from './workers.ts';

export interface NodeProxyOptions {
  workerProcesses: number | 'auto';
  listen: Listen[];
  snapshot: () => ConfigSnapshot;
  /** What a worker saying hello gets instead of snapshot(), e.g. the same snapshot packed. */
  workerSnapshot?: () => ConfigSnapshot | PackedSnapshot;
  logger: Logger;
  nodeName: string;
  logLevel: string;
  /** ssl_cert / ssl_cert_key and the prefix (for the default certificate), for `ssl` entries. */
  ssl?: ProxyTlsSettings;
  /** nginx_http_client_max_body_size / nginx_http_client_body_buffer_size, in bytes. */
  bodies?: { maxBodySize: number; bodyBufferSize: number };
  /** trusted_ips, real_ip_header, real_ip_recursive, port_maps. */
  realIp?: RealIpOptions;
  /** allow_debug_header. */
  allowDebugHeader?: boolean;
  /** nginx's client timeouts and keep-alive settings (nginx_http_* keys). */
  clients?: Pick<ProxyServerOptions, 'headersTimeout' | 'clientBodyTimeout' | 'sendTimeout' | 'keepAliveTimeout' | 'maxRequestsPerSocket'>;
}

export interface NodeProxy {
  readonly workerCount: number;
  applyChanges(events: ChangeEvent[]): void;
  /** `packed`, the same snapshot as stored bytes, goes to the workers instead when given. */
  loadSnapshot(snapshot: ConfigSnapshot, packed?: PackedSnapshot): void;
  /** Resolves when every worker serves every change handed over so far (bounded wait: `timeoutMs`, 2 s by default). */
  settled(timeoutMs?: number): Promise<void>;
  /** Metrics text (exposition format) of the proxy (merged over workers). */
  metrics(): Promise<string>;
  workers: ProxyWorkers['workers'];
  /** A plugin's question to every worker (its PluginPackage.worker answers). */
  ask: ProxyWorkers['ask'];
  /** Rate-limit counters the node shares with the cluster (policy = cluster). */
  sharedCounters: ProxyWorkers['shared'];
  /** The node's target verdicts, and a verdict set by hand (Kong's /targets/{t}/healthy). */
  health: { reports(): HealthReport[]; set(report: HealthReport): void };
  stop(): Promise<void>;
}

export async function startNodeProxy(o: NodeProxyOptions): Promise<NodeProxy> {
  // Every worker listens on every proxy_listen entry; node:cluster shares each socket.
  if (o.listen.length === 0) throw new Error('proxy_listen is off');
  const listeners: ListenAddress[] = o.listen.map((l) => ({ host: l.host, port: l.port, ssl: l.flags.includes('ssl'), http2: l.flags.includes('http2'), proxyProtocol: l.flags.includes('proxy_protocol') }));
  const known = new Set(['ssl', 'http2', 'reuseport', 'proxy_protocol']);
  const ignored = [...new Set(o.listen.flatMap((l) => l.flags.filter((f) => !known.has(f) && !f.startsWith('backlog='))))];
  if (ignored.length) o.logger.warn({ flags: ignored }, 'proxy_listen: flags not supported here are ignored');
  let tls: TlsMaterial | undefined;
  if (listeners.some((l) => l.ssl)) {
    if (!o.ssl) throw new Error("proxy_listen: an 'ssl' entry needs the ssl_cert / ssl_cert_key settings");
    tls = loadProxyTls(o.ssl);
  }
  // A busy port would only show as workers dying and being restarted; say it plainly instead.
  for (const l of listeners) await assertBindable(l.host, l.port);
  const where = listeners.map((l) => `${l.host}:${l.port}${l.ssl ? ' ssl' : ''}${l.http2 ? ' http2' : ''}`).join(', ');
  // Active health checks run here, once for the node, and every verdict (these, and the
  // workers' passive ones) reaches every worker: Kong's workers share one health table.
  // They start once the workers listen: their module (undici, the balancers) would delay the
  // fork, and a data plane restarted from its cache only has its configuration by then.
  let workersRef: ProxyWorkers | null = null;
  let health: NodeHealthChecks | null = null;
  const workers = await startProxyWorkers({
    count: o.workerProcesses,
    listen: { host: listeners[0]!.host, port: listeners[0]!.port },
    server: { listeners, tls, activeHealthChecks: false, realIp: o.realIp, allowDebugHeader: o.allowDebugHeader, ...o.bodies, ...o.clients },
    health: () => health?.reports() ?? [],
    onHealth: (reports) => {
      health?.apply(reports);
      workersRef?.broadcastHealth(reports);
    },
    snapshot: o.workerSnapshot ?? o.snapshot,
    logger: o.logger,
    nodeName: o.nodeName,
    logLevel: o.logLevel,
  });
  workersRef = workers;
  try {
    await withTimeout(workers.ready(), 60_000, `proxy workers did not start listening on ${where} within 60 s`);
  } catch (err) {
    await workers.stop();
    throw err;
  }
  const { NodeHealthChecks } = await import('./balancer/node-health.ts');
  const checks = new NodeHealthChecks(o.snapshot, (r) => workersRef?.broadcastHealth([r]));
  health = checks;
  return {
    workerCount: workerCount(o.workerProcesses),
    applyChanges: (events) => {
      workers.broadcast(events);
      checks.applyChanges(events);
    },
    loadSnapshot: (snapshot, packed) => {
      workers.loadSnapshot(packed ?? snapshot);
      checks.reload(snapshot);
    },
    settled: (timeoutMs?: number) => workers.settled(timeoutMs),
    metrics: () => workers.metrics(),
    workers: () => workers.workers(),
    ask: (plugin, msg, timeoutMs) => workers.ask(plugin, msg, timeoutMs),
    sharedCounters: workers.shared,
    health: {
      reports: () => checks.reports(),
      set: (report) => {
        checks.apply([report]);
        workers.broadcastHealth([report]);
      },
    },
    stop: () => {
      checks.stop();
      return workers.stop();
    },
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
