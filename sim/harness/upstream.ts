// The sample upstream every simulated route points at: answers 200 with what it was asked.
import http from 'node:http';
import type net from 'node:net';

export interface Upstream {
  port: number;
  requests(): number;
  close(): Promise<void>;
}

export async function startUpstream(port = 0): Promise<Upstream> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    req.resume();
    const body = JSON.stringify({ ok: true, method: req.method, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
