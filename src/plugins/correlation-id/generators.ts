// Kong's three correlation id generators. `uuid#counter` is a uuid per worker process and a
// counter; `tracker` is nginx's server_addr-server_port-pid-connection-connection_requests-time.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ProxyContext } from '../../proxy/context.ts';

const workerUuid = randomUUID();
let workerCounter = 0;

/** nginx's $connection (a serial per connection) and $connection_requests, per socket. */
const connections = new WeakMap<Socket, { serial: number; requests: number; last: ProxyContext | null }>();
let connectionSerial = 0;

function connectionOf(ctx: ProxyContext): { serial: number; requests: number } {
  const socket = ctx.req.socket;
  let c = connections.get(socket);
  if (c === undefined) {
    c = { serial: ++connectionSerial, requests: 0, last: null };
    connections.set(socket, c);
  }
  // Counted once per request, however many times a generator runs for it.
  if (c.last !== ctx) {
    c.last = ctx;
    c.requests++;
  }
  return c;
}

export type Generator = (ctx: ProxyContext) => string;

export const generators: Record<'uuid' | 'uuid#counter' | 'tracker', Generator> = {
  uuid: () => randomUUID(),
  'uuid#counter': () => `${workerUuid}#${++workerCounter}`,
  tracker: (ctx) => {
    const c = connectionOf(ctx);
    const socket = ctx.req.socket;
    return `${socket.localAddress ?? ''}-${socket.localPort ?? ''}-${process.pid}-${c.serial}-${c.requests}-${(Date.now() / 1000).toFixed(3)}`;
  },
};
