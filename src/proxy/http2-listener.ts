// HTTP/2 on proxy_listen entries with the `http2` flag (Kong's listen flag, nginx's `http2`).
// One node:http2 server per listener takes the connections that speak h2: over TLS those whose
// ALPN chose `h2` (tls-listener.ts hands them over), in cleartext those that open with the
// HTTP/2 connection preface (h2c with prior knowledge, as nginx detects it); every other
// connection stays with the listener's HTTP/1.1 server. Requests reach the same pipeline as
// HTTP/1.1 ones through node's compatibility objects, adjusted here so the pipeline, the
// plugins and the forwarder see HTTP/1.1-shaped headers (`host`, no pseudo-headers).
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';

/** What the HTTP/2 server does with a request (the pipeline, through server.ts). */
export type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/** Header names HTTP/2 forbids (RFC 9113 8.2.2); node would drop them with a warning each time. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const kClean = Symbol('gossamer.h2Headers');

/**
 * The request headers as the pipeline reads them: no pseudo-headers, `host` from `:authority`,
 * and `transfer-encoding: chunked` standing for a body of unknown length (HTTP/2 has no
 * chunking; the forwarder reads it as "a body follows" and drops the header as hop-by-hop).
 */
const kDistinct = Symbol('gossamer.h2HeadersDistinct');

class H2Request extends http2.Http2ServerRequest {
  declare [kClean]: http.IncomingHttpHeaders | undefined;
  declare [kDistinct]: Record<string, string[]> | undefined;
}
const rawHeaders = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'headers')!.get!;
Object.defineProperty(H2Request.prototype, 'headers', {
  get(this: H2Request): http.IncomingHttpHeaders {
    let clean = this[kClean];
    if (clean !== undefined) return clean;
    const raw = rawHeaders.call(this) as http.IncomingHttpHeaders;
    clean = {};
    for (const k in raw) if (k.charCodeAt(0) !== 58) clean[k] = raw[k];
    if (clean.host === undefined && raw[':authority'] !== undefined) clean.host = raw[':authority'] as string;
    if (clean['content-length'] === undefined && !this.stream.endAfterHeaders) clean['transfer-encoding'] = 'chunked';
    this[kClean] = clean;
    return clean;
  },
  set(this: H2Request, v: http.IncomingHttpHeaders) {
    this[kClean] = v;
  },
  configurable: true,
});

/**
 * node:http's `headersDistinct` (every value of a repeated header), which Http2ServerRequest
 * lacks: the router's header matching and the plugins that read repeated headers use it. Built
 * from the same fields as `headers` above.
 */
Object.defineProperty(H2Request.prototype, 'headersDistinct', {
  get(this: H2Request): Record<string, string[]> {
    // Built once per request, as node:http's is: the router reads it once per header rule.
    const cached = this[kDistinct];
    if (cached !== undefined) return cached;
    const out: Record<string, string[]> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name.charCodeAt(0) === 58) continue;
      (out[name] ??= []).push(raw[i + 1]!);
    }
    const clean = this.headers;
    if (out.host === undefined && clean.host !== undefined) out.host = [clean.host];
    if (out['transfer-encoding'] === undefined && clean['transfer-encoding'] !== undefined) out['transfer-encoding'] = [clean['transfer-encoding']];
    this[kDistinct] = out;
    return out;
  },
  configurable: true,
});

/** Drops the connection-specific headers an HTTP/1.1 answer carries (Connection: close...). */
class H2Response extends http2.Http2ServerResponse {
  override writeHead(status: number, ...rest: unknown[]): this {
    const headers = rest[rest.length - 1];
    if (Array.isArray(headers)) {
      const h = headers as string[];
      for (let i = h.length - 2; i >= 0; i -= 2) {
        const name = h[i]!.toLowerCase();
        if (CONNECTION_HEADERS.has(name) || (name === 'te' && h[i + 1] !== 'trailers')) h.splice(i, 2);
      }
    }
    return (super.writeHead as (...a: unknown[]) => this)(status, ...rest);
  }
}

export interface H2Server {
  /** Serve HTTP/2 on a connection: a TLS socket that chose h2, or a cleartext one that sent the preface. */
  take(socket: net.Socket): void;
  /** Ends every HTTP/2 connection (the listener is closing). */
  closeAll(): void;
}

/**
 * nginx's keepalive_timeout for HTTP/2: a session without a stream for `ms` is closed (GOAWAY,
 * then the connection). Its own timer rather than the session's inactivity timeout, which the
 * client body and send timeouts set through the request's socket.
 */
function closeWhenIdle(s: http2.ServerHttp2Session, ms: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    timer = setTimeout(() => s.close(), ms);
    timer.unref();
  };
  s.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    stream.once('close', () => {
      if (--open === 0 && !s.closed && !s.destroyed) arm();
    });
  });
  s.once('close', () => {
    if (timer !== null) clearTimeout(timer);
  });
  arm();
}

export function createH2Server(handler: H2Handler, maxHeaderSize: number, keepAliveTimeout: number): H2Server {
  const server = http2.createServer(
    {
      Http2ServerRequest: H2Request,
      Http2ServerResponse: H2Response as unknown as typeof http2.Http2ServerResponse,
      settings: { maxHeaderListSize: maxHeaderSize },
    },
    handler,
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    if (keepAliveTimeout > 0) closeWhenIdle(s, keepAliveTimeout);
    // A protocol error from one client only ends its own session.
    s.on('error', () => s.destroy());
  });
  // The connections too: a session that has closed may leave its socket open (a client that
  // sent GOAWAY and keeps the connection), which would hold the listener's close.
  const sockets = new Set<net.Socket>();
  return {
    take: (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      server.emit('connection', socket);
    },
    closeAll: () => {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Make a plain node:http server on an `http2` listener pass connections that open with the
 * HTTP/2 preface to `h2`; the others (HTTP/1.1) stay with it.
 */
export function sniffH2c(server: http.Server, h2: H2Server, firstBytesTimeout: number): void {
  const httpListeners = server.listeners('connection') as ((s: net.Socket) => void)[];
  server.removeAllListeners('connection');
  // Connections that have sent nothing yet are no server's: closing the listener closes them too.
  const pending = new Set<net.Socket>();
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    for (const socket of pending) socket.destroy();
    h2.closeAll();
    closeAll();
  };
  server.on('connection', (socket: net.Socket) => {
    pending.add(socket);
    let seen: Buffer = Buffer.alloc(0);
    // Until a first request line or the preface is in, the socket is no server's: it gets
    // the head timeout here, and an error only loses it.
    const fail = () => socket.destroy();
    const timer = setTimeout(fail, firstBytesTimeout);
    socket.on('error', fail);
    socket.once('close', () => {
      clearTimeout(timer);
      pending.delete(socket);
    });
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && n < PREFACE.length) return; // a preface still coming in
      clearTimeout(timer);
      pending.delete(socket);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.pause();
      socket.unshift(seen);
      if (isH2) h2.take(socket);
      else {
        for (const l of httpListeners) l.call(server, socket);
        // node:http reads a TCP socket's handle itself; what was read here waits in the
        // stream's buffer, which flows to its 'data' listener once resumed.
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
}
