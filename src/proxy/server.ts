// The proxy listener: router → plugins (access) → balancer → forwarder, with Kong's error
// answers. Used in-process by tests and the benchmark, and by each worker (worker-main.ts).
// Nothing here awaits anything but the upstream (and a first-ever DNS answer for a host).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import { createLogger } from '../log.ts';
import type { CounterStore } from '../plugins/types.ts';
import type { Peer } from './balancer/index.ts';
import { PHASE_LOG, ProxyContext, type ResponseHead } from './context.ts';
import { LocalCounters } from './counters.ts';
import { discardUnsentBody, transformBody } from './body-buffer.ts';
import { JSON_TYPE, MSG, errorBody, sendJson } from './errors.ts';
import { Forwarder } from './forwarder.ts';
import { normalizePath } from './normalize-path.ts';
import { loadPluginHandlers, runAccess, type ChainEntry } from './plugin-chain.ts';
import { accessWithBody, chainNeedsBody, hasRequestBody } from './access-body.ts';
import { nextRequestId } from './request-id.ts';
import type { RequestFacts } from './router.ts';
import { ProxyRuntime } from './runtime.ts';
import { SERVER, VIA } from './version.ts';
import type { TlsMaterial } from './tls-certs.ts';
import { WebSocketRelay } from './websocket.ts';

export interface ProxyServerOptions {
  logger?: Logger;
  snapshot?: ConfigSnapshot;
  /** Rate-limit counters; defaults to per-process counters. Workers pass shared ones. */
  counters?: CounterStore;
  debounceMs?: number;
  /** Slow-client protection (ms): whole headers / whole request must arrive within these. */
  headersTimeout?: number;
  requestTimeout?: number;
  /** Client keep-alive idle time (ms). */
  keepAliveTimeout?: number;
  /** Largest request head accepted (bytes); larger gets 431. */
  maxHeaderSize?: number;
  /** Certificates for listeners opened with `ssl` (tls-certs.ts loads them). */
  tls?: TlsMaterial;
  /** false in proxy workers: the primary probes once for the node and sends verdicts. */
  activeHealthChecks?: boolean;
  /** nginx_http_client_max_body_size in bytes (default 0: no limit). */
  maxBodySize?: number;
  /** nginx_http_client_body_buffer_size in bytes (default 8k, Kong's). */
  bodyBufferSize?: number;
}

/** Kong's nginx_http_client_body_buffer_size default. */
export const DEFAULT_BODY_BUFFER_SIZE = 8 * 1024;

/** One address the proxy accepts clients on (a proxy_listen entry). */
export interface ListenAddress {
  host: string;
  port: number;
  ssl: boolean;
}

/** What a request knows of the listener it arrived on. */
interface Listener {
  port: number;
  tls: boolean;
}

export interface ProxyServer {
  /** The first plain-HTTP listener's server (every listener: `servers`). */
  readonly server: http.Server;
  readonly servers: readonly http.Server[];
  /** Requests received by this process (the benchmark checks every worker served). */
  readonly stats: { requests: number };
  readonly runtime: ProxyRuntime;
  /** Opens one more listener; `ssl` needs the `tls` option. */
  listen(port: number, host?: string, ssl?: boolean): Promise<{ host: string; port: number }>;
  loadSnapshot(snapshot: ConfigSnapshot): void;
  applyChanges(events: ChangeEvent[]): void;
  /** Resolves once changes applied so far are live. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function createProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  await loadPluginHandlers();
  const logger = opts.logger ?? createLogger('proxy', 'warn');
  const ownCounters = opts.counters ? null : new LocalCounters();
  const runtime = new ProxyRuntime({ logger, counters: opts.counters ?? ownCounters!, debounceMs: opts.debounceMs });
  if (opts.activeHealthChecks === false) runtime.balancers.runActiveChecks(false);
  if (opts.snapshot) runtime.loadSnapshot(opts.snapshot);
  const facts: RequestFacts = { method: '', host: '', port: 0, path: '', headers: {} };

  const onDone = (ctx: ProxyContext): void => {
    const plugins = ctx.plugins;
    if (plugins === null || (ctx.phases & PHASE_LOG) === 0) return;
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i]!;
      if (p.log !== undefined) {
        try {
          p.log(ctx);
        } catch (err) {
          logger.error({ err, plugin: p.name }, 'plugin log phase failed');
        }
      }
    }
  };
  const maxBodySize = opts.maxBodySize ?? 0;
  const bodyBufferSize = opts.bodyBufferSize ?? DEFAULT_BODY_BUFFER_SIZE;
  const forwarder = new Forwarder(runtime.balancers, { onDone, maxBodySize, bodyBufferSize });
  const ws = new WebSocketRelay();

  const sendExit = (ctx: ProxyContext): void => {
    discardUnsentBody(ctx, ctx.exitStatus);
    const h: string[] = ctx.responseHeaders ?? [];
    h.push('x-gossamer-request-id', ctx.requestId, 'via', VIA);
    let status = ctx.exitStatus;
    let body = ctx.exitBody ?? '';
    // Typed before the header filters, which may look at it (or change it).
    if (body !== '') h.push('content-type', JSON_TYPE);
    const plugins = ctx.plugins;
    if (plugins !== null) {
      const head: ResponseHead = { status, headers: h };
      for (const p of plugins) if (p.headerFilter !== undefined) p.headerFilter(ctx, head);
      status = head.status;
      // Kong runs body_filter on a plugin's own answers too (a response rewrite on a 401...).
      if (ctx.responseBodyTransforms !== null && body !== '') body = (transformBody(ctx.responseBodyTransforms, Buffer.from(body), ctx) ?? body).toString();
    }
    ctx.status = status;
    if (body === '') {
      h.push('content-length', '0', 'server', SERVER, 'x-gossamer-response-latency', String(Math.round(performance.now() - ctx.startedAt)));
      ctx.res.writeHead(status, h);
      ctx.res.end();
    } else sendJson(ctx.res, status, body, h, ctx.startedAt, false);
    onDone(ctx);
  };

  /** Route and run the access phase; returns the context ready to forward, or null if answered. */
  const prepare = (req: IncomingMessage, res: ServerResponse, l: Listener): ProxyContext | null | Promise<ProxyContext | null> => {
    const start = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let rawPath = q === -1 ? url : url.slice(0, q);
    if (rawPath.charCodeAt(0) !== 47) {
      // absolute-form (a client talking to us as a forward proxy) or '*'
      try {
        rawPath = new URL(rawPath).pathname;
      } catch {
        rawPath = '/';
      }
    }
    const path = normalizePath(rawPath);
    const hostHeader = req.headers.host ?? '';
    let host = hostHeader;
    let port = l.port;
    const colon = hostHeader.lastIndexOf(':');
    if (colon > 0 && hostHeader.charCodeAt(hostHeader.length - 1) !== 93) {
      host = hostHeader.slice(0, colon);
      port = Number(hostHeader.slice(colon + 1)) || l.port;
    }
    facts.method = req.method ?? 'GET';
    facts.host = host.toLowerCase();
    facts.port = port;
    facts.path = path;
    facts.headers = req.headers;
    const m = runtime.router.match(facts);
    const ctx = new ProxyContext(req, res, nextRequestId(), start, path, q === -1 ? '' : url.slice(q + 1), hostHeader);
    ctx.https = l.tls;
    ctx.listenPort = l.port;
    if (maxBodySize > 0) {
      // nginx refuses a declared length before any route or plugin runs (Kong's one location).
      const cl = req.headers['content-length'];
      if (cl !== undefined && Number(cl) > maxBodySize) {
        ctx.status = 413;
        sendJson(res, 413, errorBody(MSG.bodyTooLarge, ctx.requestId), ['x-gossamer-request-id', ctx.requestId, 'connection', 'close'], start);
        return null;
      }
      ctx.requestBodyLimit = maxBodySize;
    }
    if (m === null) {
      ctx.status = 404;
      sendJson(res, 404, errorBody(MSG.noRoute, ctx.requestId), ['x-gossamer-request-id', ctx.requestId], start);
      return null;
    }
    ctx.route = m.route;
    ctx.service = m.service;
    const protocols = m.route.protocols;
    if (!l.tls && protocols && protocols.length !== 0 && !protocols.includes('http') && !protocols.includes('ws')) {
      // An https-only route reached over plain HTTP: Kong's answer. (Over TLS Kong serves
      // http-only routes too: its router treats http and https alike for matching.)
      const code = m.route.https_redirect_status_code || 426;
      ctx.status = code;
      if (code === 426) {
        sendJson(res, 426, errorBody('Please use HTTPS protocol', ctx.requestId), ['connection', 'Upgrade', 'upgrade', 'TLS/1.2, HTTP/1.1'], start);
      } else {
        const h = ['location', `https://${host}${url}`, 'content-length', '0', 'x-gossamer-request-id', ctx.requestId];
        res.writeHead(code, h);
        res.end();
      }
      return null;
    }
    ctx.upstreamPath = m.upstreamPath;
    ctx.strippedPrefix = m.strippedPrefix;
    ctx.captures = m.captures;
    const plugins = runtime.plugins;
    if (!plugins.empty) {
      const chain = plugins.chainFor(m.route, m.service);
      if (chain.length !== 0) {
        if (hasRequestBody(req) && chainNeedsBody(chain, ctx)) return readBodyFirst(ctx, chain);
        runAccess(ctx, chain);
      }
    }
    return afterAccess(ctx);
  };

  /** A plugin's own answer, or a route without a service; else the context to forward. */
  const afterAccess = (ctx: ProxyContext): ProxyContext | null => {
    if (ctx.exitStatus !== 0) {
      sendExit(ctx);
      return null;
    }
    if (ctx.service === null) {
      ctx.exit(503, errorBody(MSG.noService, ctx.requestId));
      sendExit(ctx);
      return null;
    }
    return ctx;
  };

  /** A plugin reading its key from the body: the access phase runs once the whole body is in memory. */
  const readBodyFirst = (ctx: ProxyContext, chain: ChainEntry[]): Promise<ProxyContext | null> =>
    accessWithBody(ctx, chain, bodyBufferSize).then((complete) => {
      if (complete) return afterAccess(ctx);
      ctx.status = 499; // the client went away before its body was complete
      return null;
    });

  const stats = { requests: 0 };
  const onRequest = (req: IncomingMessage, res: ServerResponse, l: Listener): void => {
    stats.requests++;
    let ctx: ProxyContext | null | Promise<ProxyContext | null>;
    try {
      ctx = prepare(req, res, l);
    } catch (err) {
      logger.error({ err, url: req.url }, 'request failed before proxying');
      sendJson(res, 500, errorBody(MSG.internal, ''), []);
      return;
    }
    if (ctx === null) return;
    if (ctx instanceof Promise) {
      ctx.then(
        (c) => {
          if (c !== null) forward(c);
        },
        (err) => {
          logger.error({ err, url: req.url }, 'request failed before proxying');
          if (!res.headersSent) sendJson(res, 500, errorBody(MSG.internal, ''), []);
        },
      );
      return;
    }
    forward(ctx);
  };

  const forward = (ctx: ProxyContext): void => {
    const service = ctx.service!;
    const peer = runtime.balancers.pick(ctx, service, null);
    if (peer === null) return forwarder.fail(ctx, 503, MSG.noPeer);
    if (peer instanceof Promise) {
      const c = ctx;
      peer.then(
        (p) => forwarder.forward(c, service, p, 0),
        () => forwarder.fail(c, 503, `${MSG.unavailable}`),
      );
      return;
    }
    forwarder.forward(ctx, service, peer, 0);
  };

  const upgraded = new Set<Duplex>();
  const upgradedNow = new WeakSet<Duplex>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, l: Listener): void => {
    socket.on('error', () => socket.destroy());
    // Upgraded sockets leave the HTTP server's bookkeeping; close() must still end them.
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    // A ServerResponse over the raw socket lets plugins and errors answer the usual way.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    res.shouldKeepAlive = false;
    // An answer written here (404, 401...) ends the connection: it is not upgraded.
    res.once('finish', () => {
      if (!upgradedNow.has(socket)) socket.end();
    });
    let ctx: ProxyContext | null | Promise<ProxyContext | null>;
    try {
      ctx = prepare(req, res, l);
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
    const service = c.service!;
    const go = (p: Peer | null): void => {
      if (p === null) return forwarder.fail(c, 503, MSG.noPeer);
      upgradedNow.add(socket);
      res.detachSocket(socket as never);
      const route = c.route!;
      const hostH = route.preserve_host && c.hostHeader ? c.hostHeader : p.balancer ? (p.balancer.upstream.host_header ?? `${p.host}:${p.port}`) : `${service.host}:${service.port}`;
      req.url = c.query ? c.upstreamPath + '?' + c.query : c.upstreamPath;
      const headers: Record<string, string> = {
        host: hostH,
        'x-forwarded-for': c.clientIp,
        'x-forwarded-proto': l.tls ? 'https' : 'http',
        'x-forwarded-host': c.hostHeader,
        'x-forwarded-port': String(l.port),
        'x-forwarded-path': c.path,
        'x-real-ip': c.clientIp,
        'x-gossamer-request-id': c.requestId,
      };
      if (c.requestHeaderEdits) for (const [k, v] of c.requestHeaderEdits) if (v !== null) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      ws.relay(req, socket, head, p.origin, headers);
    };
    const peer = runtime.balancers.pick(c, service, null);
    if (peer instanceof Promise) peer.then(go, () => forwarder.fail(c, 503, MSG.unavailable));
    else go(peer);
  };

  const serverOptions: http.ServerOptions = {
    headersTimeout: opts.headersTimeout ?? 60_000,
    requestTimeout: opts.requestTimeout ?? 300_000,
    keepAliveTimeout: opts.keepAliveTimeout ?? 60_000,
    maxHeaderSize: opts.maxHeaderSize ?? 32 * 1024,
    connectionsCheckingInterval: 1000,
  };
  // Node answers malformed requests itself (400, 431, 408) and closes the socket; the default
  // handling is what we want, but a socket error after that must not surface as an exception.
  const onClientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (!socket.writable || (err.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  /** A server for one listener; its port is filled in once it listens. */
  const makeServer = (ssl: boolean): { server: http.Server; l: Listener } => {
    const l: Listener = { port: 0, tls: ssl };
    const handler = (req: IncomingMessage, res: ServerResponse): void => onRequest(req, res, l);
    let server: http.Server;
    if (ssl) {
      if (!opts.tls) throw new Error("proxy_listen: an 'ssl' listener needs certificates (ssl_cert / ssl_cert_key, or the default under the prefix)");
      server = https.createServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key, ALPNProtocols: ['http/1.1'] }, handler) as unknown as http.Server;
      // A client that fails the handshake (plain HTTP on the TLS port, a bad hello) only loses its socket.
      server.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
    } else server = http.createServer(serverOptions, handler);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(req, socket, head, l));
    server.on('clientError', onClientError);
    return { server, l };
  };
  const first = makeServer(false);
  const servers: { server: http.Server; l: Listener }[] = [];

  const api: ProxyServer = {
    server: first.server,
    get servers() {
      return servers.map((e) => e.server);
    },
    stats,
    runtime,
    listen(port, host = '0.0.0.0', ssl = false) {
      const e = !ssl && !servers.includes(first) ? first : makeServer(ssl);
      servers.push(e);
      const { server, l } = e;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          l.port = a.port;
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    loadSnapshot: (s) => runtime.loadSnapshot(s),
    applyChanges: (e) => runtime.applyChanges(e),
    settled: () => runtime.settled(),
    async close() {
      await Promise.all(
        (servers.length ? servers : [first]).map(
          ({ server }) =>
            new Promise<void>((r) => {
              if (!server.listening) return r();
              server.close(() => r());
              server.closeAllConnections();
            }),
        ),
      );
      for (const s of upgraded) s.destroy();
      ws.close();
      runtime.close();
      ownCounters?.close();
      await forwarder.close();
    },
  };
  return api;
}
