// Sends a routed request to its peer and streams the answer back. HTTP goes through undici 7
// Pools (keep-alive, one per upstream address and connect timeout) driven by a raw dispatch
// handler: measured here, undici forwards about 2x the requests per CPU-second of http-proxy,
// and the raw handler avoids the stream objects of pool.stream/pool.request. Bodies flow in
// both directions with backpressure (pause/resume), so memory stays flat for any size.
// WebSocket upgrades go through http-proxy instead (see websocket.ts).
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { Service } from '../entities/types.ts';
import type { Balancers, Peer } from './balancer/index.ts';
import { PHASE_BODY_FILTER, PHASE_HEADER_FILTER, type ProxyContext, type ResponseHead } from './context.ts';
import { bodyWithHead, discardUnsentBody, readBodyUpTo, transformBody } from './body-buffer.ts';
import { MSG, errorBody, sendJson } from './errors.ts';
import { SMALL_BODY, unwatchWrites, watchWrites, type WriteWatch } from './write-timeout.ts';
import { armClientTimeout, disarmClientTimeout } from './client-timeouts.ts';
import { VIA, VIA_H2 } from './version.ts';
import { pushForwarded } from './forwarded.ts';
import { sendGrpcAnswer } from './grpc-answers.ts';
import { GrpcForwarder } from './grpc-forwarder.ts';
import { upstreamTls, type UpstreamTlsSettings } from './upstream-tls.ts';
import type { EntityStore } from '../cache/entity-store.ts';

const HOP = Object.assign(Object.create(null) as Record<string, boolean>, {
  connection: true,
  'keep-alive': true,
  'proxy-connection': true,
  // httpoxy: a client's `Proxy` header must never reach an upstream's CGI as HTTP_PROXY.
  proxy: true,
  // Re-added below with this proxy's own entry appended (one Via, not the client's twice).
  via: true,
  'proxy-authenticate': true,
  'proxy-authorization': false,
  te: true,
  trailer: true,
  'transfer-encoding': true,
  upgrade: true,
  // nginx's proxy module drops Expect (the proxy answered it); undici also refuses to send it.
  expect: true,
  host: true,
  'x-real-ip': true,
  'x-forwarded-for': true,
  'x-forwarded-proto': true,
  'x-forwarded-host': true,
  'x-forwarded-port': true,
  'x-forwarded-path': true,
  'x-forwarded-prefix': true,
});

// Name lengths 2, 7, 10, 16, 17: onHeaders looks at names of these lengths (and 14, Content-Length).
const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Buffer's own latin1 decoder, without toString()'s encoding dispatch (undici's parser uses it too). */
type LatinBuffer = Buffer & { latin1Slice(start: number, end: number): string };

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const TIMEOUT_ERRORS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'GOSSAMER_WRITE_TIMEOUT']);

export interface ForwarderOptions {
  /** Upstream keep-alive idle time (ms). */
  keepAliveTimeout?: number;
  /** Called once per finished request (log phase). */
  onDone: (ctx: ProxyContext) => void;
  /** nginx_http_client_body_buffer_size: the largest body read whole for a body rewrite. */
  bodyBufferSize: number;
  /** nginx_http_client_max_body_size (0: none): a body cut off at it gets Kong's nginx 413. */
  maxBodySize: number;
  /** nginx's send_timeout (ms): a client that leaves a blocked answer unread this long is dropped. */
  sendTimeout?: number;
  /** The worker's entities: the certificates and CAs a service's upstream TLS names. */
  store?: EntityStore;
}

/** requestBodyLimit for bodies without Content-Length: counts what passes. */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) cb(Object.assign(new Error('request body over the size limit'), { code: 'GOSSAMER_BODY_LIMIT' }));
    else cb(null, chunk);
  }
}

export class Forwarder {
  private readonly pools = new Map<string, Pool>();
  /** Services with protocol grpc / grpcs: HTTP/2 to the upstream. */
  private readonly grpc: GrpcForwarder;

  /** nginx's send_timeout in ms (60 s by default). */
  readonly sendTimeout: number;

  constructor(
    private readonly balancers: Balancers,
    private readonly opts: ForwarderOptions,
  ) {
    this.sendTimeout = opts.sendTimeout ?? 60_000;
    this.grpc = new GrpcForwarder(this, opts.store);
  }

  pool(origin: string, connectTimeout: number, servername: string | null = null, secure: UpstreamTlsSettings | null = null): Pool {
    let key = servername === null ? origin + '|' + connectTimeout : origin + '|' + connectTimeout + '|' + servername;
    if (secure !== null) key += '|' + secure.key;
    let p = this.pools.get(key);
    if (!p) {
      p = new Pool(origin, {
        pipelining: 1,
        keepAliveTimeout: this.opts.keepAliveTimeout ?? 60_000,
        keepAliveMaxTimeout: 600_000,
        // Kong verifies upstream certificates only when the service sets tls_verify (upstream-tls.ts).
        connect:
          servername === null
            ? { timeout: connectTimeout }
            : { timeout: connectTimeout, servername, rejectUnauthorized: false, ...secure?.connect },
        // Per-request timeouts come from the service (read_timeout) on each dispatch.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(key, p);
    }
    return p;
  }

  forward(ctx: ProxyContext, service: Service, peer: Peer, attempt: number): void {
    const req = ctx.req;
    if (ctx.requestBodyTransforms !== null && ctx.requestBody === null && ctx.requestBodyHead === null) return this.bufferThenForward(ctx, service, peer);
    const buffered = ctx.requestBody;
    const headers = buildRequestHeaders(ctx, service, peer);
    if (service.protocol === 'grpc' || service.protocol === 'grpcs') return this.grpc.forward(ctx, service, peer, attempt, headers);
    let streamed = false;
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (buffered !== null) {
      if (buffered.length !== 0) body = buffered;
    } else if (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined) {
      streamed = true;
      if (attempt === 0) req.on('error', noop);
      const src = ctx.requestBodyHead === null ? req : bodyWithHead(ctx.requestBodyHead, req);
      body = ctx.requestBodyLimit > 0 ? src.pipe(new BodyLimit(ctx.requestBodyLimit)) : src;
    }
    const path = ctx.query || ctx.queryMark ? ctx.upstreamPath + '?' + ctx.query : ctx.upstreamPath;
    const handler = new ResponseRelay(ctx, service, peer, attempt, streamed, this);
    if (streamed && service.write_timeout > 0) {
      const len = req.headers['content-length'];
      if (len === undefined || Number(len) > SMALL_BODY) handler.watch = watchWrites(req, service.write_timeout, (err) => handler.stalled(err));
    }
    if (peer.health) peer.health.active++;
    ctx.upstreamStartedAt = performance.now();
    if (attempt === 0) ctx.proxyLatency = ctx.upstreamStartedAt - ctx.startedAt;
    ctx.upstreamTarget = peer.origin;
    // A service with tls_verify or a client certificate: its own pool, by its TLS settings.
    const secure = peer.tls && (service.tls_verify === true || service.client_certificate) ? upstreamTls(service, this.opts.store) : null;
    let pool = peer.pool;
    if (secure !== null) pool = this.pool(peer.origin, service.connect_timeout, peer.balancer ? peer.host : service.host, secure);
    else if (pool === null || peer.poolConnectTimeout !== service.connect_timeout) {
      pool = this.pool(peer.origin, service.connect_timeout, peer.tls ? (peer.balancer ? peer.host : service.host) : null);
      peer.pool = pool;
      peer.poolConnectTimeout = service.connect_timeout;
    }
    pool.dispatch(
      {
        path,
        method: (ctx.upstreamMethod ?? ctx.method) as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: service.read_timeout,
        bodyTimeout: service.read_timeout,
      },
      handler,
    );
  }

  /**
   * Reads the request body whole for the plugins that rewrite it, then forwards it. A body
   * larger than nginx_http_client_body_buffer_size goes unchanged (Kong: plugins may not see a
   * body nginx buffered to disk), which also bounds what one request holds in memory.
   */
  private bufferThenForward(ctx: ProxyContext, service: Service, peer: Peer): void {
    readBodyUpTo(ctx.req, this.opts.bodyBufferSize, ctx.requestBodyLimit).then(
      (r) => {
        if (r.whole === null) ctx.requestBodyHead = r.head;
        else {
          const changed = transformBody(ctx.requestBodyTransforms!, r.whole, ctx);
          ctx.requestBody = changed ?? r.whole;
          if (changed !== null) ctx.setRequestHeader('content-length', String(changed.length));
        }
        this.forward(ctx, service, peer, 0);
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'GOSSAMER_BODY_LIMIT') return this.fail(ctx, 413, this.tooLarge(ctx));
        ctx.status = 499;
        this.done(ctx);
      },
    );
  }

  /** Called by a relay whose attempt failed before anything reached the client. */
  retry(ctx: ProxyContext, service: Service, failed: Peer, attempt: number): boolean {
    if (attempt >= service.retries || ctx.res.destroyed) return false;
    const next = this.balancers.pick(ctx, service, failed);
    if (next === null) return false;
    if (next instanceof Promise) {
      next.then(
        (p) => this.forward(ctx, service, p, attempt + 1),
        () => this.fail(ctx, 502, MSG.badGateway),
      );
    } else this.forward(ctx, service, next, attempt + 1);
    return true;
  }

  /** Whose limit cut the body off: nginx_http_client_max_body_size's message, or a size-limit plugin's. */
  tooLarge(ctx: ProxyContext): string {
    return ctx.requestBodyLimit === this.opts.maxBodySize ? MSG.bodyTooLarge : MSG.payloadTooLarge;
  }

  fail(ctx: ProxyContext, status: number, message: string): void {
    ctx.status = status;
    const extra = ctx.responseHeaders ? [...ctx.responseHeaders] : [];
    // A body over a limit is not read on: nginx closes such a connection after its 413.
    if (status === 413) extra.push('connection', 'close');
    discardUnsentBody(ctx, status);
    extra.push('x-kong-request-id', ctx.requestId, 'via', VIA);
    // Kong runs header_filter on its own error answers too (a plugin echoing a request id on a 502).
    const plugins = ctx.plugins;
    if (plugins !== null && (ctx.phases & PHASE_HEADER_FILTER) !== 0) {
      const head: ResponseHead = { status, headers: extra };
      for (const p of plugins) if (p.headerFilter !== undefined) p.headerFilter(ctx, head);
      ctx.status = status = head.status;
    }
    // kong/error_handlers.lua: a gRPC client gets the message as grpc-message.
    if (ctx.grpc) sendGrpcAnswer(ctx.res, status, message, extra, ctx.startedAt);
    else sendJson(ctx.res, status, errorBody(message, ctx.requestId), extra, ctx.startedAt);
    this.opts.onDone(ctx);
  }

  done(ctx: ProxyContext): void {
    this.opts.onDone(ctx);
  }

  async close(): Promise<void> {
    this.balancers.forgetPools();
    this.grpc.close();
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(noop)));
  }
}

function noop(): void {}

const TE_TRAILERS = /(^|,)\s*trailers\s*(;|,|$)/i;
function clientTakesTrailers(ctx: ProxyContext): boolean {
  const te = ctx.req.headers.te;
  return te !== undefined && TE_TRAILERS.test(String(te));
}

/** Whether a response to `method` with `status` carries a body (RFC 9110 §6.4.1). */
function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

/** Map.forEach callback (`this`: the header list): no entry arrays per edit. */
function pushEdit(this: string[], v: string | string[] | null, k: string): void {
  if (v === null) return;
  if (typeof v === 'string') this.push(k, v);
  else for (let i = 0; i < v.length; i++) this.push(k, v[i]!);
}

/** Kong's inbound Via names the client's protocol version: `2 kong` for HTTP/2 clients. */
function viaOf(ctx: ProxyContext): string {
  return ctx.req.httpVersionMajor === 2 ? VIA_H2 : VIA;
}

function buildRequestHeaders(ctx: ProxyContext, service: Service, peer: Peer): string[] {
  const src: IncomingHttpHeaders = ctx.req.headers;
  const edits = ctx.requestHeaderEdits;
  const out: string[] = [];
  let connTokens: Set<string> | null = null;
  const conn = src.connection;
  if (conn !== undefined && conn.length > 10) connTokens = new Set(conn.toLowerCase().split(/\s*,\s*/));
  for (const k in src) {
    if (HOP[k] === true) continue;
    if (edits !== null && edits.has(k)) continue;
    if (connTokens !== null && connTokens.has(k)) continue;
    const v = src[k]!;
    if (typeof v === 'string') out.push(k, v);
    else for (let i = 0; i < v.length; i++) out.push(k, v[i]!);
  }
  if (edits !== null) edits.forEach(pushEdit, out);
  const route = ctx.route!;
  let host: string;
  if (route.preserve_host && ctx.hostHeader) host = ctx.hostHeader;
  else if (peer.balancer) {
    const hh = peer.balancer.upstream.host_header;
    host = hh ? hh : peer.port === 80 || peer.port === 443 ? peer.host : peer.host + ':' + peer.port;
  } else host = service.port === 80 || service.port === 443 ? service.host : service.host + ':' + service.port;
  // undici sends its origin's host itself: naming it again would only cost a header check.
  if (host !== peer.authority) out.push('host', host);
  pushForwarded(ctx, out);
  out.push('x-kong-request-id', ctx.requestId, 'via', src.via ? src.via + ', ' + viaOf(ctx) : viaOf(ctx));
  // TE is hop-by-hop, but Kong keeps its `trailers` (the client can take trailers).
  if (clientTakesTrailers(ctx)) out.push('te', 'trailers');
  return out;
}

// Listeners shared by every request (the response is `this`): per-request closures would
// each cost an allocation plus tsx's __name() wrapper.
const kRelay = Symbol('gossamer.relay');
type RelayedResponse = ServerResponse & { [kRelay]?: ResponseRelay };
function onClientClose(this: RelayedResponse): void {
  this[kRelay]?.clientClosed();
}
function onDrain(this: RelayedResponse): void {
  this[kRelay]?.drained();
}

/** undici's raw (legacy) dispatch handler: relays one upstream response to the client. */
class ResponseRelay implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private sentHead = false;
  private finished = false;
  /** Declared body bytes still to come (-1: no Content-Length). */
  private remaining = -1;
  private ended = false;
  private readonly filters: boolean;
  /** Response held for responseBodyTransforms: its head and the chunks so far. */
  private held: { status: number; headers: string[]; chunks: Buffer[] } | null = null;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly service: Service,
    private readonly peer: Peer,
    private readonly attempt: number,
    /** The request body streams from the client: once started, it cannot be sent again. */
    private readonly streamed: boolean,
    private readonly fwd: Forwarder,
  ) {
    this.filters = (ctx.phases & PHASE_BODY_FILTER) !== 0;
    (ctx.res as RelayedResponse)[kRelay] = this;
    // 'close' fires once per response; on() avoids once()'s wrapper allocation.
    if (attempt === 0) ctx.res.on('close', onClientClose);
  }

  /** The write_timeout watch of a streamed request body, if any. */
  watch: WriteWatch | null = null;

  /** The upstream stopped taking the request body for write_timeout. */
  stalled(err: Error): void {
    if (!this.finished && this.abort !== null) this.abort(err);
  }

  clientClosed(): void {
    if (!this.finished && this.abort !== null) this.abort(new Error('client closed the connection'));
  }

  drained(): void {
    disarmClientTimeout(this.ctx.res.socket);
    if (this.resume !== null) this.resume();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.ctx.res.destroyed) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const ctx = this.ctx;
    const now = performance.now();
    ctx.upstreamLatency = now - ctx.upstreamStartedAt;
    ctx.status = statusCode;
    const b = this.peer.balancer;
    if (b !== null && this.peer.health !== null) b.reportStatus(this.peer.health, statusCode);
    const h: string[] = [];
    let length = -1;
    let upstreamVia: string | null = null;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const nameBuf = rawHeaders[i]! as LatinBuffer;
      const name = nameBuf.latin1Slice(0, nameBuf.length);
      const n = name.length;
      // Only names as long as Via, a hop-by-hop one or Content-Length need a closer look.
      if (n === 2 || n === 3 || n === 7 || n === 10 || n === 14 || n === 16 || n === 17) {
        const lower = name.toLowerCase();
        // Trailer stays when the client said it takes trailers (TE: trailers), as in Kong.
        if (RESPONSE_HOP.has(lower) && !(lower === 'trailer' && clientTakesTrailers(ctx))) continue;
        if (lower === 'content-length') length = Number(rawHeaders[i + 1]!.toString('latin1'));
        else if (lower === 'via') {
          // One Via, the upstream's entries first and this proxy's last (Kong's answer).
          const v = rawHeaders[i + 1]!.toString('latin1');
          upstreamVia = upstreamVia === null ? v : upstreamVia + ', ' + v;
          continue;
        }
      }
      const valueBuf = rawHeaders[i + 1]! as LatinBuffer;
      h.push(name, valueBuf.latin1Slice(0, valueBuf.length));
    }
    this.remaining = length;
    const extra = ctx.responseHeaders;
    if (extra !== null) for (let i = 0; i < extra.length; i++) h.push(extra[i]!);
    h.push(
      'via', upstreamVia === null ? VIA : upstreamVia + ', ' + VIA,
      'x-kong-upstream-latency', String(Math.round(ctx.upstreamLatency)),
      'x-kong-proxy-latency', String(Math.round(ctx.proxyLatency)),
      'x-kong-request-id', ctx.requestId,
    );
    ctx.sentHeaders = h;
    // Naming the connection ourselves keeps node from adding `Keep-Alive: timeout=N`, which
    // nginx (keepalive_timeout without a header value) does not send.
    if (ctx.res.shouldKeepAlive) h.push('connection', 'keep-alive');
    let status = statusCode;
    // Only chains with a header_filter handler pay for the head object and the loop.
    const plugins = ctx.plugins;
    if (plugins !== null && (ctx.phases & PHASE_HEADER_FILTER) !== 0) {
      const head: ResponseHead = { status, headers: h };
      for (const p of plugins) if (p.headerFilter !== undefined) p.headerFilter(ctx, head);
      status = head.status;
      ctx.status = status;
      if (ctx.responseBodyTransforms !== null && hasBody(ctx.method, status)) {
        this.held = { status, headers: h, chunks: [] };
        this.resume = resume;
        return true;
      }
    }
    try {
      ctx.res.writeHead(status, h);
    } catch {
      // an upstream header Node refuses to send (invalid characters): Kong answers 502 too
      this.sentHead = false;
      this.abort?.(new Error('invalid upstream response header'));
      return false;
    }
    this.sentHead = true;
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const ctx = this.ctx;
    ctx.bytesOut += chunk.length;
    if (this.filters) {
      for (const p of ctx.plugins!) if (p.bodyFilter !== undefined) chunk = p.bodyFilter(ctx, chunk);
    }
    if (this.held !== null) {
      this.held.chunks.push(chunk);
      return true;
    }
    if (this.remaining >= 0) {
      this.remaining -= chunk.length;
      // The whole declared body is here: send head and body in one write instead of two.
      if (this.remaining === 0 && !this.filters) {
        this.ended = true;
        ctx.res.end(chunk);
        return true;
      }
    }
    if (ctx.res.write(chunk)) return true;
    // Client slower than upstream: pause undici until the socket drains. A client that reads
    // nothing for send_timeout is dropped (client-timeouts.ts), cleared again on drain.
    ctx.res.once('drain', onDrain);
    armClientTimeout(ctx.res.socket, this.fwd.sendTimeout);
    return false;
  }

  onResponseStarted(): void {}

  onComplete(): void {
    this.finished = true;
    if (this.watch !== null) unwatchWrites(this.watch);
    const ctx = this.ctx;
    if (this.peer.health) this.peer.health.active--;
    if (this.held !== null) this.sendHeld(this.held);
    else if (!this.ended) ctx.res.end();
    this.fwd.done(ctx);
  }

  /** The complete upstream answer, rewritten by the body transforms, with its new length. */
  private sendHeld(held: { status: number; headers: string[]; chunks: Buffer[] }): void {
    const ctx = this.ctx;
    const raw = Buffer.concat(held.chunks);
    const body = transformBody(ctx.responseBodyTransforms!, raw, ctx) ?? raw;
    const h = held.headers;
    for (let i = h.length - 2; i >= 0; i -= 2) if (h[i]!.length === 14 && h[i]!.toLowerCase() === 'content-length') h.splice(i, 2);
    h.push('content-length', String(body.length));
    try {
      ctx.res.writeHead(held.status, h);
    } catch {
      ctx.res.destroy();
      return;
    }
    ctx.res.end(body);
  }

  onError(err: Error): void {
    this.finished = true;
    if (this.watch !== null) unwatchWrites(this.watch);
    const ctx = this.ctx;
    const peer = this.peer;
    if (peer.health) peer.health.active--;
    const code = (err as { code?: string }).code ?? '';
    if (ctx.res.destroyed && !ctx.res.writableFinished) {
      // The client went away: nothing to answer, the upstream request is already aborted.
      ctx.status = ctx.status || 499;
      this.fwd.done(ctx);
      return;
    }
    const timeout = TIMEOUT_ERRORS.has(code);
    if (peer.balancer !== null && peer.health !== null && code !== 'GOSSAMER_BODY_LIMIT') {
      peer.balancer.reportError(peer.health, timeout ? 'timeout' : 'tcp_failure');
    }
    if (this.sentHead) {
      ctx.res.destroy(err);
      this.fwd.done(ctx);
      return;
    }
    if (this.held !== null) {
      // Part of the answer arrived but none of it reached the client: say so, do not retry.
      this.fwd.fail(ctx, timeout ? 504 : 502, timeout ? MSG.timeout : MSG.badGateway);
      return;
    }
    if (code === 'GOSSAMER_BODY_LIMIT') {
      this.fwd.fail(ctx, 413, this.fwd.tooLarge(ctx));
      return;
    }
    const retryable = !this.streamed || CONNECT_ERRORS.has(code);
    if (retryable && this.fwd.retry(ctx, this.service, peer, this.attempt)) return;
    this.fwd.fail(ctx, timeout ? 504 : 502, timeout ? MSG.timeout : MSG.badGateway);
  }

  onUpgrade(): void {
    this.abort?.(new Error('unexpected upgrade from upstream'));
  }
}
