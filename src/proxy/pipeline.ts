// One proxied request, from the listener to the forwarder: route, the access phase of the
// plugins, Kong's own answers (404, 413, 426, 503, a plugin's exit), then the balancer pick.
// This is the hot path: one instance per proxy server, called directly by the listeners, and
// nothing here awaits anything but a body read for access or a first-ever DNS answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { accessWithBody, chainNeedsBody, hasRequestBody } from './access-body.ts';
import { discardUnsentBody, transformBody } from './body-buffer.ts';
import { PHASE_LOG, ProxyContext, type ResponseHead } from './context.ts';
import { nginxPage, refuseLaterRequests } from './client-errors.ts';
import { armClientTimeout, disarmClientTimeout } from './client-timeouts.ts';
import { JSON_TYPE, MSG, errorBody, sendJson } from './errors.ts';
import type { Forwarder } from './forwarder.ts';
import { normalizePath } from '../entities/uri-normalize.ts';
import { runAccess, type ChainEntry } from './plugin-chain.ts';
import { nextRequestId } from './request-id.ts';
import type { RequestFacts } from './router.ts';
import type { ProxyRuntime } from './runtime.ts';
import { SERVER, VIA } from './version.ts';
import { RealIp } from './real-ip.ts';
import { forwardedHost, forwardedProto } from './forwarded.ts';
import { proxiedAddress } from './proxy-protocol.ts';
import { GRPC_TYPE, grpcMessageOf, isGrpcRequest, refuseOnGrpcRoute, sendGrpcAnswer } from './grpc-answers.ts';

const kServed = Symbol('gossamer.requestsServed');
type CountedSocket = IncomingMessage['socket'] & { [kServed]?: number };

/** The request body is in: no client timeout while the upstream answers (shared listener: no closure per request). */
function bodyReceived(this: IncomingMessage): void {
  disarmClientTimeout(this.socket);
}

/** What a request knows of the listener it arrived on. */
export interface Listener {
  port: number;
  tls: boolean;
  /** Requests that came over HTTP/2 (an `http2` listener's h2 connections). */
  h2?: boolean;
}

/** What `prepare` hands on: a context to forward, null when already answered, or a body read still under way. */
export type Prepared = ProxyContext | null | Promise<ProxyContext | null>;

/** The log phase of every plugin that ran, once the request is finished (the forwarder calls it too). */
export function logPhaseRunner(logger: Logger): (ctx: ProxyContext) => void {
  return (ctx: ProxyContext): void => {
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
}

/** A route that takes https only, reached over plain HTTP: Kong's 426, or the route's redirect. */
function answerHttpsOnly(ctx: ProxyContext, res: ServerResponse, code: number, host: string, url: string, start: number): void {
  ctx.status = code;
  if (code === 426) {
    sendJson(res, 426, errorBody('Please use HTTPS protocol', ctx.requestId), ['connection', 'Upgrade', 'upgrade', 'TLS/1.2, HTTP/1.1'], start);
  } else {
    const h = ['location', `https://${host}${url}`, 'content-length', '0', 'x-kong-request-id', ctx.requestId];
    res.writeHead(code, h);
    res.end();
  }
}

/** The TLS server name the client asked for, lower-case without a final dot ('' when none). */
function serverName(req: IncomingMessage): string {
  const name = (req.socket as TLSSocket).servername;
  if (typeof name !== 'string') return '';
  const lower = name.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Kong's add_debug_headers (kong/router/utils.lua): what the request matched, on every answer. */
function addDebugHeaders(ctx: ProxyContext): void {
  const { route, service } = ctx;
  if (route?.id) ctx.addResponseHeader('kong-route-id', route.id);
  if (route?.name) ctx.addResponseHeader('kong-route-name', route.name);
  if (service?.id) ctx.addResponseHeader('kong-service-id', service.id);
  if (service?.name) ctx.addResponseHeader('kong-service-name', service.name);
}

/** nginx's 400 for a request it parsed but refuses (Kong's body), closing the connection. */
function refuseBadRequest(res: ServerResponse): null {
  res.shouldKeepAlive = false;
  refuseLaterRequests(res.socket);
  sendJson(res, 400, errorBody('Bad request', nextRequestId()), ['connection', 'close']);
  return null;
}

/**
 * Versions other than 1.1 that nginx refuses. HTTP/0.9 (`GET /`, no version, no headers): nginx
 * answers with a headerless body Gossamer cannot send through node:http, so 400. HTTP/1.0 with
 * Transfer-Encoding: nginx's 400 (a 1.0 hop in front may not know chunked, a desync). `HTTP/2.0`
 * spelled out in the request line, which node parses as if it were 1.x: nginx's 505.
 */
function refuseOtherVersion(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.httpVersionMajor > 1) {
    req.resume();
    res.shouldKeepAlive = false;
    refuseLaterRequests(res.socket);
    const page = nginxPage(505);
    res.writeHead(505, ['content-type', 'text/html', 'content-length', String(page.length), 'server', SERVER, 'connection', 'close']);
    res.end(page);
    return true;
  }
  if (req.httpVersionMajor === 0 || req.headers['transfer-encoding'] !== undefined) {
    req.resume();
    refuseBadRequest(res);
    return true;
  }
  return false;
}

export class RequestPipeline {
  /** Requests received by this process (the benchmark checks every worker served). */
  readonly stats = { requests: 0 };
  /** Reused for every request: the router reads it synchronously. */
  private readonly facts: RequestFacts = { method: '', host: '', port: 0, path: '', headers: {}, message: null };

  constructor(
    private readonly runtime: ProxyRuntime,
    private readonly forwarder: Forwarder,
    private readonly onDone: (ctx: ProxyContext) => void,
    private readonly logger: Logger,
    /** nginx_http_client_max_body_size in bytes (0: no limit). */
    private readonly maxBodySize: number,
    /** nginx_http_client_body_buffer_size in bytes. */
    private readonly bodyBufferSize: number,
    /** nginx's client_body_timeout in ms: the longest pause between two reads of a body. */
    private readonly clientBodyTimeout = 60_000,
    /**
     * Kong's nginx_http_keepalive_requests (0: no limit). Counted here rather than by node's
     * server.maxRequestsPerSocket, which answers 503 to a request sent after the limit; nginx
     * answers the last one with Connection: close and closes, as this does.
     */
    private readonly keepaliveRequests = 10_000,
    /** trusted_ips, real_ip_header, real_ip_recursive, port_maps. */
    private readonly realIp: RealIp = RealIp.none,
    /** allow_debug_header. */
    private readonly allowDebugHeader = false,
  ) {}

  onRequest(req: IncomingMessage, res: ServerResponse, l: Listener): void {
    this.stats.requests++;
    if (this.keepaliveRequests > 0) {
      const s = req.socket as CountedSocket;
      const served = (s[kServed] ?? 0) + 1;
      s[kServed] = served;
      if (served >= this.keepaliveRequests) res.shouldKeepAlive = false;
    }
    if (hasRequestBody(req)) {
      // client_body_timeout: the socket's idle timeout while the body comes in.
      armClientTimeout(req.socket, this.clientBodyTimeout);
      req.once('end', bodyReceived);
    }
    let ctx: Prepared;
    try {
      ctx = this.prepare(req, res, l);
    } catch (err) {
      this.logger.error({ err, url: req.url }, 'request failed before proxying');
      sendJson(res, 500, errorBody(MSG.internal, ''), []);
      return;
    }
    if (ctx === null) return;
    if (ctx instanceof Promise) {
      ctx.then(
        (c) => {
          if (c !== null) this.forward(c);
        },
        (err) => {
          this.logger.error({ err, url: req.url }, 'request failed before proxying');
          if (!res.headersSent) sendJson(res, 500, errorBody(MSG.internal, ''), []);
        },
      );
      return;
    }
    this.forward(ctx);
  }

  /** Route and run the access phase; returns the context ready to forward, or null if answered. */
  prepare(req: IncomingMessage, res: ServerResponse, l: Listener): Prepared {
    const start = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let rawPath = q === -1 ? url : url.slice(0, q);
    // One compare for every request: HTTP/1.0, 0.9 and a spelled-out 2.0 have nginx's refusals.
    if (req.httpVersionMinor !== 1 && l.h2 !== true && refuseOtherVersion(req, res)) return null;
    let hostHeader = req.headers.host;
    if (hostHeader === undefined) {
      if (req.httpVersionMinor === 1) return refuseBadRequest(res); // nginx: HTTP/1.1 without Host
      hostHeader = '';
    }
    let authority = hostHeader;
    if (rawPath.charCodeAt(0) !== 47) {
      // absolute-form (`GET http://host/path`): nginx routes by the host in the request line,
      // not the Host header (RFC 9112 3.2.2). Anything else ('*', garbage) is the path '/'.
      try {
        const u = new URL(rawPath);
        rawPath = u.pathname;
        authority = u.host;
      } catch {
        rawPath = '/';
      }
    }
    const path = normalizePath(rawPath);
    let host = authority;
    let port = l.port;
    const colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.charCodeAt(authority.length - 1) !== 93) {
      host = authority.slice(0, colon);
      port = Number(authority.slice(colon + 1)) || l.port;
    }
    const facts = this.facts;
    facts.method = req.method ?? 'GET';
    facts.host = host.toLowerCase();
    facts.port = port;
    facts.path = path;
    facts.headers = req.headers;
    facts.message = req;
    facts.sni = l.tls ? serverName(req) : null;
    const m = this.runtime.router.match(facts);
    const ctx = new ProxyContext(req, res, nextRequestId(), start, path, q === -1 ? '' : url.slice(q + 1), hostHeader);
    ctx.queryMark = q !== -1;
    ctx.rawPath = rawPath;
    ctx.https = l.tls;
    const realIp = this.realIp;
    ctx.listenPort = realIp.portMaps[l.port] ?? l.port;
    if (realIp.isTrusted(ctx.peerIp)) {
      ctx.trustedPeer = true;
      ctx.clientIp = realIp.clientOf(ctx.peerIp, req, proxiedAddress(req.socket));
    }
    const maxBodySize = this.maxBodySize;
    if (maxBodySize > 0) {
      // nginx refuses a declared length before any route or plugin runs (Kong's one location).
      const cl = req.headers['content-length'];
      if (cl !== undefined && Number(cl) > maxBodySize) {
        ctx.status = 413;
        refuseLaterRequests(res.socket);
        sendJson(res, 413, errorBody(MSG.bodyTooLarge, ctx.requestId), ['x-kong-request-id', ctx.requestId, 'connection', 'close'], start);
        return null;
      }
      ctx.requestBodyLimit = maxBodySize;
    }
    ctx.grpc = l.h2 === true && isGrpcRequest(req);
    if (m === null) {
      ctx.status = 404;
      if (ctx.grpc) sendGrpcAnswer(res, 404, null, ['content-type', GRPC_TYPE, 'x-kong-request-id', ctx.requestId], start);
      else sendJson(res, 404, errorBody(MSG.noRoute, ctx.requestId), ['x-kong-request-id', ctx.requestId], start);
      return null;
    }
    ctx.route = m.route;
    ctx.service = m.service;
    if (this.allowDebugHeader && req.headers['kong-debug'] !== undefined) addDebugHeaders(ctx);
    const protocols = m.route.protocols;
    if (protocols && protocols.length !== 0 && !protocols.includes('http') && !protocols.includes('ws')) {
      if (protocols.includes('grpc') || protocols.includes('grpcs')) {
        if (refuseOnGrpcRoute(ctx, protocols, l, start)) return null;
      } else if (forwardedProto(ctx) !== 'https') {
        // An https-only route reached over plain HTTP: Kong's answer. (Over TLS Kong serves
        // http-only routes too: its router treats http and https alike for matching.)
        answerHttpsOnly(ctx, res, m.route.https_redirect_status_code || 426, forwardedHost(ctx), url, start);
        return null;
      }
    }
    ctx.upstreamPath = m.upstreamPath;
    ctx.strippedPrefix = m.strippedPrefix;
    ctx.captures = m.captures;
    const plugins = this.runtime.plugins;
    if (!plugins.empty) {
      const chain = plugins.chainFor(m.route, m.service);
      if (chain.length !== 0) {
        if (hasRequestBody(req) && chainNeedsBody(chain, ctx)) return this.readBodyFirst(ctx, chain);
        const waiting = runAccess(ctx, chain);
        if (waiting !== undefined) return waiting.then(() => this.afterAccess(ctx), (err: Error) => this.accessFailed(ctx, err));
      }
    }
    return this.afterAccess(ctx);
  }

  /** A plugin's own answer, or a route without a service; else the context to forward. */
  private afterAccess(ctx: ProxyContext): ProxyContext | null {
    if (ctx.exitStatus !== 0) {
      this.sendExit(ctx);
      return null;
    }
    if (ctx.service === null) {
      ctx.exit(503, errorBody(MSG.noService, ctx.requestId));
      this.sendExit(ctx);
      return null;
    }
    return ctx;
  }

  /** A plugin's waiting access phase failed: Kong's 500, the node keeps serving. */
  private accessFailed(ctx: ProxyContext, err: Error): null {
    this.logger.error({ err, route: ctx.route?.id }, 'plugin access phase failed');
    ctx.exit(500, errorBody(MSG.internal, ctx.requestId));
    this.sendExit(ctx);
    return null;
  }

  /** A plugin reading its key from the body: the access phase runs once the whole body is in memory. */
  private readBodyFirst(ctx: ProxyContext, chain: ChainEntry[]): Promise<ProxyContext | null> {
    return accessWithBody(ctx, chain, this.bodyBufferSize).then((complete) => {
      if (complete) return this.afterAccess(ctx);
      ctx.status = 499; // the client went away before its body was complete
      return null;
    });
  }

  /** A plugin's own answer (ctx.exit), through the header and body filters as Kong sends it. */
  private sendExit(ctx: ProxyContext): void {
    discardUnsentBody(ctx, ctx.exitStatus);
    const h: string[] = ctx.responseHeaders ?? [];
    h.push('x-kong-request-id', ctx.requestId, 'via', VIA);
    let status = ctx.exitStatus;
    if (ctx.exitRawBody !== null) return this.sendRawExit(ctx, h);
    let body = ctx.exitBody ?? '';
    // Typed before the header filters, which may look at it (or change it). A body of another
    // media type comes through exitRaw (sendRawExit).
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
    if (ctx.grpc) {
      sendGrpcAnswer(ctx.res, status, grpcMessageOf(body), h, ctx.startedAt);
      this.onDone(ctx);
      return;
    }
    if (body === '') {
      // A 204 or 304 has no body to measure: nginx sends no Content-Length with it.
      if (status !== 204 && status !== 304) h.push('content-length', '0');
      h.push('server', SERVER, 'x-kong-response-latency', String(Math.round(performance.now() - ctx.startedAt)));
      ctx.res.writeHead(status, h);
      ctx.res.end();
    } else sendJson(ctx.res, status, body, h, ctx.startedAt, false);
    this.onDone(ctx);
  }

  /** An exitRaw() answer: the plugin's body and headers, through the header and body filters. */
  private sendRawExit(ctx: ProxyContext, h: string[]): void {
    const head: ResponseHead = { status: ctx.exitStatus, headers: h };
    let body = ctx.exitRawBody!;
    const plugins = ctx.plugins;
    if (plugins !== null) {
      for (const p of plugins) if (p.headerFilter !== undefined) p.headerFilter(ctx, head);
      if (ctx.responseBodyTransforms !== null) body = transformBody(ctx.responseBodyTransforms, body, ctx) ?? body;
    }
    ctx.status = head.status;
    ctx.bytesOut = body.length;
    const out = head.headers;
    out.push('content-length', String(body.length), 'server', SERVER, 'x-kong-response-latency', String(Math.round(performance.now() - ctx.startedAt)));
    ctx.res.writeHead(head.status, out);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
    this.onDone(ctx);
  }

  private forward(ctx: ProxyContext): void {
    const service = ctx.service!;
    const peer = this.runtime.balancers.pick(ctx, service, null);
    const forwarder = this.forwarder;
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
  }
}
