// Forking a proxy worker, and forking it early. A worker takes about a second to boot (tsx,
// undici, the plugins); a data plane restarted from its cache must serve within 2 s, so
// `gossamer start` forks a data plane's workers first thing (src/cli/early-workers.ts), and
// startProxyWorkers adopts them later with the messages they sent meanwhile. Kept free of imports beyond node's own: it runs before the node's modules load.
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
/** Set by bin/gossamer.js (src/boot/layout.mjs's BUNDLE_IN_USE) when this process runs the start-up bundle. */
const bundleDir = () => (globalThis as Record<symbol, unknown>)[Symbol.for('gossamer.bundle')] as string | undefined;

/** A forked worker with what it said before anyone listened (its hello). */
export interface ForkedWorker {
  worker: Worker;
  early: unknown[];
}

const early: { worker: Worker; early: unknown[]; stopBuffering: () => void }[] = [];

export function forkProxyWorker(): Worker {
  // Resolved here, not by the worker: a node started from another directory (gossamer up, the
  // README walkthrough, a systemd unit) has no node_modules/tsx next to its working directory.
  // ESM hooks only (tsx/esm): every source file is ESM, and tsx's require() hook made each
  // require() inside undici, pino and prom-client a round of package.json lookups.
  // --cpu-prof flags pass on, so `node --cpu-prof bin/gossamer.js start` profiles the workers too.
  // A primary running the start-up bundle forks the bundle's worker entry, loaded natively;
  // the polyfill goes first, as bin/gossamer.js does (the entry's external imports load before its body).
  const profile = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  const bundle = bundleDir();
  cluster.setupPrimary({
    exec: bundle ? path.join(bundle, 'worker-main.mjs') : WORKER_MAIN,
    execArgv: bundle
      ? ['--import', pathToFileURL(path.join(bundle, 'polyfill.mjs')).href, ...profile]
      : ['--import', import.meta.resolve('tsx/esm'), ...profile],
    serialization: 'advanced',
  } as Parameters<typeof cluster.setupPrimary>[0]);
  return cluster.fork({ GOSSAMER_PROXY_WORKER: '1' });
}

/** Fork `count` workers now, before the proxy's code is loaded; startProxyWorkers adopts them. */
export function forkProxyWorkersEarly(count: number): void {
  for (let i = 0; i < count; i++) {
    const worker = forkProxyWorker();
    const buf: unknown[] = [];
    const onMessage = (m: unknown) => buf.push(m);
    worker.on('message', onMessage);
    early.push({ worker, early: buf, stopBuffering: () => worker.off('message', onMessage) });
  }
}

/** Stop early-forked workers nobody adopted (the configuration asked for fewer, or no proxy). */
export function dropEarlyWorkers(): void {
  for (let e = early.shift(); e; e = early.shift()) {
    e.stopBuffering();
    if (!e.worker.isDead()) e.worker.process.kill();
  }
}

/** An early-forked worker that is still alive, or null: the caller forks one itself. */
export function adoptEarlyWorker(): ForkedWorker | null {
  for (let e = early.shift(); e; e = early.shift()) {
    e.stopBuffering();
    if (!e.worker.isDead()) return { worker: e.worker, early: e.early };
  }
  return null;
}
