// The sample upstream of `gossamer up`: answers every request with a JSON description of it
// (like httpbin's /anything), so the printed curl examples work without any network.
import http from 'node:http';
import type net from 'node:net';

export interface EchoServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startEchoServer(opts: { host?: string; port: number }): Promise<EchoServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://echo');
      const body = JSON.stringify(
        {
          message: 'hello from the gossamer up echo server',
          method: req.method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        },
        null,
        2,
      );
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(`${body}`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
