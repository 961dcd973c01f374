// Variant (b) of the proxy benchmark: the thinnest undici 7 Pool.stream reverse proxy, the
// engine gossamer is built on. Usage: proxy-bare-undici.ts <listenPort> <upstreamPort>
import http from 'node:http';
import { bareUndiciHandler } from './bare-undici-handler.ts';

const [listen, upstream] = process.argv.slice(2).map(Number);
http.createServer(bareUndiciHandler(upstream!)).listen(listen, '127.0.0.1', () => process.send?.('ready'));

process.on('message', (m) => {
  if (m === 'stop') process.exit(0);
});
