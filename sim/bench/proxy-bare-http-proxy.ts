// Variant (c) of the proxy benchmark: a bare http-proxy 1.18 reverse proxy with a keep-alive
// agent. Usage: proxy-bare-http-proxy.ts <listenPort> <upstreamPort>
import http from 'node:http';
import httpProxy from 'http-proxy';

const [listen, upstream] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstream}`, agent });
proxy.on('error', (_e, _q, res) => {
  const r = res as http.ServerResponse;
  if (!r.headersSent) r.writeHead(502);
  r.end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(listen, '127.0.0.1', () => process.send?.('ready'));

process.on('message', (m) => {
  if (m === 'stop') process.exit(0);
});
