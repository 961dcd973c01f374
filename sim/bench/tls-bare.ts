// bench:tls's reference for keep-alive HTTPS: a bare Node https server in front of an undici
// Pool.stream proxy (the same thin proxy as bench:proxy's variant b, behind TLS).
// Usage: tls-bare.ts <listenPort> <upstreamPort> <certFile> <keyFile>
import fs from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import { Pool } from 'undici';

const [listen, upstream, certFile, keyFile] = process.argv.slice(2);
const pool = new Pool(`http://127.0.0.1:${upstream}`, { pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

https
  .createServer({ cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!) }, (req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const k in req.headers) if (!HOP.has(k)) headers[k] = req.headers[k]!;
    pool.stream(
      { path: req.url!, method: req.method as 'GET', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req, opaque: res },
      ({ statusCode, headers: h, opaque }) => {
        const out = opaque as http.ServerResponse;
        for (const k of Object.keys(h)) if (HOP.has(k)) delete h[k];
        out.writeHead(statusCode, h as http.OutgoingHttpHeaders);
        return out;
      },
      (err) => {
        if (err && !res.headersSent) {
          res.statusCode = 502;
          res.end();
        }
      },
    );
  })
  .listen(Number(listen), '127.0.0.1', () => process.send?.('ready'));

process.on('message', (m) => {
  if (m === 'stop') process.exit(0);
});
