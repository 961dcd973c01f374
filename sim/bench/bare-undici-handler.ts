// The thinnest undici 7 Pool.stream reverse proxy, the engine gossamer is built on: the request
// handler bench:proxy's variant b (plain HTTP) and bench:tls's reference (behind https) share.
import type http from 'node:http';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

export function bareUndiciHandler(upstreamPort: number): http.RequestListener {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { pipelining: 1, keepAliveTimeout: 60_000 });
  return (req, res) => {
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
  };
}
