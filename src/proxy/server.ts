// The proxy listener: router → plugins (access) → balancer → forwarder, with Kong's error
// answers. Used in-process by tests and the benchmark, and by each worker (worker-main.ts).
// Nothing here awaits anything but the upstream (and a first-ever DNS answer for a host).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ChangeEvent, ConfigSnapshot } from '../entities/types.ts';
import { createLogger } from '../log.ts';
import type { CounterStore } from '../plugins/types.ts';
import type { Peer } from './balancer/index.ts';
import { ProxyContext, type ResponseHead } from './context.ts';
import { LocalCounters } from './counters.ts';
import { transformBody } from './body-buffer.ts';
import { JSON_TYPE, MSG, errorBody, sendJson } from './errors.ts';
import { Forwarder } from './forwarder.ts';
import { normalizePath } from './normalize-path.ts';
import { loadPluginHandlers, runAccess } from './plugin-chain.ts';
import { nextRequestId } from './request-id.ts';
import type { RequestFacts } from './router.ts';
import { ProxyRuntime } from './runtime.ts';
import { SERVER, VIA } from './version.ts';
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
}

export interface ProxyServer {
  readonly server: http.Server;
  /** Requests received by this process (the benchmark checks every worker served). */
  readonly stats: { requests: number };
  readonly runtime: ProxyRuntime;
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
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
  if (opts.snapshot) runtime.loadSnapshot(opts.snapshot);
  let listenPort = 0;
  const facts: RequestFacts = { method: '', host: '', port: 0, path: '', headers: {} };

  const onDone = (ctx: ProxyContext): void => {
    const plugins = ctx.plugins;
    if (plugins === null) return;
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
  const forwarder = new Forwarder(runtime.balancers, { port: () => listenPort, onDone });
  const ws = new WebSocketRelay();

  const sendExit = (ctx: ProxyContext): void => {
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
      // Kong runs body_filter on a plugin's own answers too (response-transformer on a 401...).
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
  const prepare = (req: IncomingMessage, res: ServerResponse): ProxyContext | null => {
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
    let port = listenPort;
    const colon = hostHeader.lastIndexOf(':');
    if (colon > 0 && hostHeader.charCodeAt(hostHeader.length - 1) !== 93) {
      host = hostHeader.slice(0, colon);
      port = Number(hostHeader.slice(colon + 1)) || listenPort;
    }
    facts.method = req.method ?? 'GET';
    facts.host = host.toLowerCase();
    facts.port = port;
    facts.path = path;
    facts.headers = req.headers;
    const m = runtime.router.match(facts);
    const ctx = new ProxyContext(req, res, nextRequestId(), start, path, q === -1 ? '' : url.slice(q + 1), hostHeader);
    if (m === null) {
      ctx.status = 404;
      sendJson(res, 404, errorBody(MSG.noRoute, ctx.requestId), ['x-gossamer-request-id', ctx.requestId], start);
      return null;
    }
    ctx.route = m.route;
    ctx.service = m.service;
    const protocols = m.route.protocols;
    if (protocols && protocols.length !== 0 && !protocols.includes('http') && !protocols.includes('ws')) {
      // An https-only route reached over plain HTTP (this listener has no TLS): Kong's answer.
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
        runAccess(ctx, chain);
        if (ctx.exitStatus !== 0) {
          sendExit(ctx);
          return null;
        }
      }
    }
    if (m.service === null) {
      ctx.exit(503, errorBody(MSG.noService, ctx.requestId));
      sendExit(ctx);
      return null;
    }
    return ctx;
  };

  const stats = { requests: 0 };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    let ctx: ProxyContext | null;
    try {
      ctx = prepare(req, res);
    } catch (err) {
      logger.error({ err, url: req.url }, 'request failed before proxying');
      sendJson(res, 500, errorBody(MSG.internal, ''), []);
      return;
    }
    if (ctx === null) return;
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
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
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
    let ctx: ProxyContext | null;
    try {
      ctx = prepare(req, res);
    } catch {
      socket.destroy();
      return;
    }
    if (ctx === null) return;
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
        'x-forwarded-proto': 'http',
        'x-forwarded-host': c.hostHeader,
        'x-forwarded-port': String(listenPort),
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

  const server = http.createServer(
    {
      headersTimeout: opts.headersTimeout ?? 60_000,
      requestTimeout: opts.requestTimeout ?? 300_000,
      keepAliveTimeout: opts.keepAliveTimeout ?? 60_000,
      maxHeaderSize: opts.maxHeaderSize ?? 32 * 1024,
      connectionsCheckingInterval: 1000,
    },
    onRequest,
  );
  server.on('upgrade', onUpgrade);
  // Node answers malformed requests itself (400, 431, 408) and closes the socket; the default
  // handling is what we want, but a socket error after that must not surface as an exception.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const api: ProxyServer = {
    server,
    stats,
    runtime,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          listenPort = a.port;
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    loadSnapshot: (s) => runtime.loadSnapshot(s),
    applyChanges: (e) => runtime.applyChanges(e),
    settled: () => runtime.settled(),
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
        for (const s of upgraded) s.destroy();
      });
      ws.close();
      runtime.close();
      ownCounters?.close();
      await forwarder.close();
    },
  };
  return api;
}
