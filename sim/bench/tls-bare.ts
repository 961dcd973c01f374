// bench:tls's reference for keep-alive HTTPS: a bare Node https server in front of an undici
// Pool.stream proxy (the same thin proxy as bench:proxy's variant b, behind TLS).
// Usage: tls-bare.ts <listenPort> <upstreamPort> <certFile> <keyFile>
import fs from 'node:fs';
import https from 'node:https';
import { bareUndiciHandler } from './bare-undici-handler.ts';

const [listen, upstream, certFile, keyFile] = process.argv.slice(2);
https
  .createServer({ cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!) }, bareUndiciHandler(Number(upstream)))
  .listen(Number(listen), '127.0.0.1', () => process.send?.('ready'));

process.on('message', (m) => {
  if (m === 'stop') process.exit(0);
});
