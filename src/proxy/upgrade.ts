// Upgrade requests (WebSocket): the same routing and access phase as HTTP requests (pipeline.ts),
// then the raw socket is handed to the relay (websocket.ts) instead of the forwarder.
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Peer } from './balancer/index.ts';
import type { ProxyContext } from './context.ts';
import { pushForwarded } from './forwarded.ts';
import { MSG } from './errors.ts';
import type { Forwarder } from './forwarder.ts';
import type { Listener, Prepared, RequestPipeline } from './pipeline.ts';
import type { ProxyRuntime } from './runtime.ts';
import { WebSocketRelay } from './websocket.ts';

export class UpgradeHandler {
  private readonly ws = new WebSocketRelay();
  /** Upgraded sockets leave the HTTP server's bookkeeping; close() must still end them. */
  private readonly upgraded = new Set<Duplex>();
  /** Sockets handed to the relay: an answer written before that ends them, after it does not. */
  private readonly upgradedNow = new WeakSet<Duplex>();

  constructor(
    private readonly pipeline: RequestPipeline,
    private readonly runtime: ProxyRuntime,
    private readonly forwarder: Forwarder,
  ) {}

  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, l: Listener): void {
    socket.on('error', () => socket.destroy());
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    // A ServerResponse over the raw socket lets plugins and errors answer the usual way.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    res.shouldKeepAlive = false;
    // An answer written here (404, 401...) ends the connection: it is not upgraded.
    res.once('finish', () => {
      if (!this.upgradedNow.has(socket)) socket.end();
    });
    let ctx: Prepared;
    try {
      ctx = this.pipeline.prepare(req, res, l);
    } catch {
      socket.destroy();
      return;
    }
    if (ctx === null) return;
    if (ctx instanceof Promise) {
      // An upgrade request with a body to read for access: not a WebSocket handshake.
      socket.destroy();
      return;
    }
    const c = ctx;
    const go = (p: Peer | null): void => {
      if (p === null) return this.forwarder.fail(c, 503, MSG.noPeer);
      this.relay(c, req, res, socket, head, p);
    };
    const peer = this.runtime.balancers.pick(c, c.service!, null);
    if (peer instanceof Promise) peer.then(go, () => this.forwarder.fail(c, 503, MSG.unavailable));
    else go(peer);
  }

  /** The handshake goes to the picked peer with the forwarding headers an HTTP request gets. */
  private relay(c: ProxyContext, req: IncomingMessage, res: http.ServerResponse, socket: Duplex, head: Buffer, p: Peer): void {
    const service = c.service!;
    this.upgradedNow.add(socket);
    res.detachSocket(socket as never);
    const route = c.route!;
    const hostH = route.preserve_host && c.hostHeader ? c.hostHeader : p.balancer ? (p.balancer.upstream.host_header ?? `${p.host}:${p.port}`) : `${service.host}:${service.port}`;
    req.url = c.query ? c.upstreamPath + '?' + c.query : c.upstreamPath;
    const flat: string[] = ['host', hostH, 'x-kong-request-id', c.requestId];
    pushForwarded(c, flat);
    const headers: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) headers[flat[i]!] = flat[i + 1]!;
    if (c.requestHeaderEdits) for (const [k, v] of c.requestHeaderEdits) if (v !== null) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    this.ws.relay(req, socket, head, p.origin, headers);
  }

  /** Ends every upgraded connection (the servers' close() does not see them) and the relay. */
  close(): void {
    for (const s of this.upgraded) s.destroy();
    this.ws.close();
  }
}
