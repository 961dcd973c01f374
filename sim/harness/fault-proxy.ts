// A TCP proxy between one node and Postgres: `cut` resets every open connection and every new
// one (the node loses its database while Postgres stays up for the others), `restore` reopens.
import net from 'node:net';

export interface FaultProxy {
  port: number;
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  connections(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: { target: { host: string; port: number }; port?: number }): Promise<FaultProxy> {
  let cut = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(opts.target);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    connections: () => open.size / 2,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}
