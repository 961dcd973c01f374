// Variants (d), (e), (f), (g) of the proxy benchmark: gossamer's proxy built from a snapshot made
// here (the full `gossamer start` is not needed to measure the data path).
// Usage: proxy-gossamer.ts <listenPort> <upstreamPort> <plain|plugins|logging|workers2>
import '../../src/polyfill.ts';
import { createLogger } from '../../src/log.ts';
import { createProxyServer } from '../../src/proxy/server.ts';
import { startProxyWorkers } from '../../src/proxy/workers.ts';
import { useStartupBundle } from './startup-bundle.ts';
import { benchSnapshot } from './proxy-snapshot.ts';

const [listenS, upstreamS, variant] = process.argv.slice(2);
const listen = Number(listenS);
const snap = benchSnapshot(Number(upstreamS), variant === 'plugins' ? 'auth' : variant === 'logging' ? 'logging' : 'none');
const logger = createLogger('bench', 'warn');

if (variant === 'workers2') {
  await useStartupBundle();
  const workers = await startProxyWorkers({ count: 2, listen: { host: '127.0.0.1', port: listen }, snapshot: () => snap, logger, logLevel: 'warn' });
  await workers.ready();
  process.on('message', async (m) => {
    if (m === 'stats') process.send!({ stats: await workers.workers() });
    if (m === 'stop') {
      await workers.stop();
      process.exit(0);
    }
  });
} else {
  const proxy = await createProxyServer({ snapshot: snap, logger });
  await proxy.listen(listen, '127.0.0.1');
  process.on('message', async (m) => {
    if (m === 'stats') process.send!({ stats: [{ id: 0, pid: process.pid, requests: proxy.stats.requests }] });
    if (m === 'stop') {
      await proxy.close();
      process.exit(0);
    }
  });
}
process.send!('ready');
