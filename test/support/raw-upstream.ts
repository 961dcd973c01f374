// An upstream for the smuggling tests: a raw `net` server, not node:http, that records every
// byte it receives on every socket and speaks just enough HTTP/1.1 to answer. A request the
// proxy should have refused, or bytes smuggled behind a well-formed one, show up in `bytes`
// exactly as they were sent, since nothing here parses them away or refuses them.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  port: number;
  /** Every byte received since the last `clear()`, all sockets, in arrival order (latin1). */
  readonly bytes: string;
  /** The request lines of the requests it answered since the last `clear()`. */
  readonly requests: string[];
  /** Open connections holding part of a request (a head whose body has not all come). */
  incomplete(): number;
  clear(): void;
  close(): Promise<void>;
}

/** Length of the first complete request in `buf` (head and body), or -1 while incomplete. */
function requestLength(buf: string): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return -1;
  const head = buf.slice(0, end).toLowerCase();
  const bodyStart = end + 4;
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    // Chunked: walk the chunk sizes to the last chunk and its empty trailer.
    let at = bodyStart;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol === -1) return -1;
      const size = parseInt(buf.slice(at, eol), 16);
      if (Number.isNaN(size)) return buf.length; // garbage: treat what came as the request
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', eol);
        return trailerEnd === -1 ? -1 : trailerEnd + 4;
      }
      at = eol + 2 + size + 2;
      if (at > buf.length) return -1;
    }
  }
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  const len = bodyStart + (cl ? Number(cl[1]) : 0);
  return len <= buf.length ? len : -1;
}

export async function rawUpstream(): Promise<RawUpstream> {
  let bytes = '';
  let requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const pendingOf = new Map<net.Socket, string>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let pending = '';
    sock.on('data', (d: Buffer) => {
      const s = d.toString('latin1');
      bytes += s;
      pending += s;
      for (let n = requestLength(pending); n > 0; n = requestLength(pending)) {
        requests.push(pending.slice(0, pending.indexOf('\r\n')));
        pending = pending.slice(n);
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      }
      pendingOf.set(sock, pending);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      sockets.delete(sock);
      pendingOf.delete(sock);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    get bytes() {
      return bytes;
    },
    get requests() {
      return requests;
    },
    incomplete: () => [...pendingOf.values()].filter((p) => p.length > 0).length,
    clear() {
      bytes = '';
      requests = [];
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
