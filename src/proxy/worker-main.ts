// Entry point of a proxy worker process (forked by workers.ts through node:cluster and run
// through tsx). It is a small data plane of its node: configuration and change events arrive
// over IPC and are applied locally; nothing on the request path waits for the primary.
import '../polyfill.ts';
import cluster from 'node:cluster';
import v8 from 'node:v8';
import { AggregatorRegistry } from 'prom-client';
import { createLogger } from '../log.ts';
import { registry as metricsRegistry, enableDefaultMetrics } from './metrics-registry.ts';
import { pluginWorkerAnswer, preloadPlugins } from '../plugins/registry.ts';
import { WorkerCounters } from './counters.ts';
import { createProxyServer, type ProxyServer } from './server.ts';
import type { ConfigSnapshot } from '../entities/types.ts';
import type { FromWorker, PackedSnapshot, ToWorker } from './worker-messages.ts';

if (!cluster.isWorker || !process.send) throw new Error('worker-main.ts must be started by startProxyWorkers (node:cluster)');

const send = (m: FromWorker): void => {
  if (process.connected) process.send!(m);
};

/** A plugin's question from the primary (its Admin API endpoints), answered by the plugin's worker module. */
async function answerPlugin(plugin: string, msg: unknown): Promise<unknown> {
  try {
    const answer = await pluginWorkerAnswer(plugin);
    return answer ? await answer(msg) : null;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

// prom-client answers the primary's metrics requests once an AggregatorRegistry exists here.
AggregatorRegistry.setRegistries([metricsRegistry]);
new AggregatorRegistry();

let proxy: ProxyServer | null = null;
let counters: WorkerCounters | null = null;
const early: ToWorker[] = [];
let holding = false;
const drain = (): void => {
  while (proxy && !holding && early.length) handle(early.shift()!);
};
// The codec (msgpackr, brotli) loads only in a worker handed a packed snapshot (a data plane's cache).
let codec: typeof import('../sync/codec.ts') | null = null;
const unpack = async (s: ConfigSnapshot | PackedSnapshot): Promise<ConfigSnapshot> => {
  if (!('packed' in s)) return s;
  codec ??= await import('../sync/codec.ts');
  return codec.decodeSnapshotSync(s.packed);
};

process.on('message', (m: ToWorker) => {
  if (m.t === 'gossamer:init') return void init(m);
  // Held while a packed snapshot loads, so every later change applies on top of it.
  if (!proxy || holding) {
    if (m.t === 'gossamer:stop' && !proxy) process.exit(0);
    early.push(m);
    return;
  }
  handle(m);
});
// Messages sent before a listener exists are dropped, so the primary waits for this.
send({ t: 'gossamer:hello' });

function handle(m: ToWorker): void {
  switch (m.t) {
    case 'gossamer:snapshot': {
      const s = m.snapshot;
      if ('v8' in s) proxy!.loadSnapshot(v8.deserialize(s.v8) as ConfigSnapshot);
      else if (!('packed' in s)) proxy!.loadSnapshot(s);
      else if (codec) proxy!.loadSnapshot(codec.decodeSnapshotSync(s.packed));
      else {
        holding = true;
        void unpack(s)
          .then((snap) => proxy!.loadSnapshot(snap))
          .catch((err) => console.error(`gossamer worker ${process.pid}: a packed snapshot did not decode, keeping the configuration it has:`, err))
          .finally(() => {
            holding = false;
            drain();
          });
      }
      break;
    }
    case 'gossamer:events':
      proxy!.applyChanges(m.events);
      break;
    case 'gossamer:rl-totals': {
      const own = m.to === cluster.worker!.id ? new Map(m.acked.map(([k, , n]) => [k, n])) : null;
      counters!.onTotals(m.entries, own);
      break;
    }
    case 'gossamer:rl-split':
      counters!.setSplit(m.n, m.place);
      break;
    case 'gossamer:settled?':
      // IPC keeps order, so every change sent before this question is already queued in the
      // proxy; answer once the router built from them serves.
      void proxy!.settled().then(() => send({ t: 'gossamer:settled', id: m.id }));
      break;
    case 'gossamer:stats?':
      send({ t: 'gossamer:stats', id: m.id, requests: proxy!.stats.requests, pid: process.pid });
      break;
    case 'gossamer:health':
      proxy!.runtime.balancers.applyHealth(m.reports);
      break;
    case 'gossamer:plugin?':
      void answerPlugin(m.plugin, m.msg).then((result) => {
        if (m.id !== 0) send({ t: 'gossamer:plugin', id: m.id, result });
      });
      break;
    case 'gossamer:stop':
      void proxy!.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 5000).unref();
      break;
  }
}

async function init(m: Extract<ToWorker, { t: 'gossamer:init' }>): Promise<void> {
  const logger = createLogger(`${m.nodeName}/worker-${cluster.worker!.id}`, m.logLevel as 'info');
  try {
    await preloadPlugins();
    counters = new WorkerCounters((msg) => send(msg));
    const tellSiblings = (plugin: string, msg: unknown) => send({ t: 'gossamer:plugin-tell', plugin, msg });
    proxy = await createProxyServer({ ...m.options, logger, snapshot: await unpack(m.snapshot), counters, tellSiblings });
    // A passive check's verdict here goes to the primary, which hands it to every worker.
    proxy.runtime.balancers.onHealthChange = (r) => send({ t: 'gossamer:health', reports: [r] });
    let port = 0;
    for (const l of m.options.listeners ?? [{ ...m.listen, ssl: false }]) {
      const addr = await proxy.listen(l.port, l.host, l.ssl, { http2: l.http2, proxyProtocol: l.proxyProtocol });
      port ||= addr.port;
    }
    drain();
    send({ t: 'gossamer:ready', port });
    // After listening: a data plane restarted from its cache serves before it measures itself.
    enableDefaultMetrics();
  } catch (err) {
    send({ t: 'gossamer:fatal', error: String((err as Error).stack ?? err) });
    process.exit(1);
  }
}

process.on('uncaughtException', (err) => {
  // A bug must not leave a half-working worker: log, exit, and let the primary restart us.
  console.error(`gossamer worker ${process.pid} crashed:`, err);
  process.exit(70);
});
