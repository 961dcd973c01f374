// gRPC to the upstream (services with protocol grpc or grpcs), nginx's grpc_pass as Kong's
// `@grpc` location uses it: HTTP/2 in cleartext (grpc) or over TLS (grpcs), one session per
// upstream address reused by every request, the client's messages streamed up and the
// upstream's streamed down, then its trailers (grpc-status, grpc-message) passed on as
// trailers. An upstream that fails before it answers gets Kong's error answer (forwarder.ts
// `fail`, which names the gRPC status); one that fails midway resets the client's stream.
import http2 from 'node:http2';
import { isIP } from 'node:net';
import type { Service } from '../entities/types.ts';
import type { Peer } from './balancer/index.ts';
import { PHASE_HEADER_FILTER, type ProxyContext, type ResponseHead } from './context.ts';
import { MSG } from './errors.ts';
import { VIA_H2 } from './version.ts';
import { upstreamTls } from './upstream-tls.ts';
import type { EntityStore } from '../cache/entity-store.ts';

/** What the forwarder does for a gRPC request that did not get an answer through. */
export interface GrpcOutcomes {
  fail(ctx: ProxyContext, status: number, message: string): void;
  retry(ctx: ProxyContext, service: Service, failed: Peer, attempt: number): boolean;
  done(ctx: ProxyContext): void;
}

/** Not sent on an HTTP/2 hop (RFC 9113 8.2.2), nor passed back from one. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'content-length']);
/** Passed back on a path of its own (one Via with this proxy's entry last). */
const RESPONSE_SKIP = new Set([...HOP, 'via']);

type TimedOut = Error & { code?: string };

function timeoutError(what: string): TimedOut {
  return Object.assign(new Error(`upstream ${what} timed out`), { code: 'GOSSAMER_TIMEOUT' });
}

/** Upstream headers for the client: no pseudo-headers, no connection-specific ones. */
function passBack(headers: http2.IncomingHttpHeaders, out: string[]): void {
  for (const k in headers) {
    if (k.charCodeAt(0) === 58 || RESPONSE_SKIP.has(k)) continue;
    const v = headers[k];
    if (typeof v === 'string') out.push(k, v);
    else if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else if (v !== undefined) out.push(k, String(v));
  }
}

export class GrpcForwarder {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(
    private readonly out: GrpcOutcomes,
    /** The worker's entities: the CAs and client certificate a grpcs service names. */
    private readonly store?: EntityStore,
  ) {}

  /** The session to a peer, connecting one when there is none (or it is closing). */
  private session(service: Service, peer: Peer): http2.ClientHttp2Session {
    const secure = service.protocol === 'grpcs';
    const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
    const origin = `${secure ? 'https' : 'http'}://${host}:${peer.port}`;
    const servername = peer.balancer ? peer.host : service.host;
    // tls_verify, ca_certificates, tls_verify_depth, client_certificate as for https services.
    const settings = secure ? upstreamTls(service, this.store) : null;
    const key = secure ? origin + '|' + servername + '|' + (settings?.key ?? '') : origin;
    const known = this.sessions.get(key);
    if (known !== undefined && !known.closed && !known.destroyed) return known;
    // As Kong (grpc_ssl_verify off unless the service sets tls_verify): the name is sent, checked only then.
    const s = http2.connect(origin, secure ? { servername: isIP(servername) ? '' : servername, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...settings?.connect } : {});
    const timer = setTimeout(() => s.destroy(timeoutError('connect')), service.connect_timeout);
    s.once('connect', () => clearTimeout(timer));
    const forget = () => {
      clearTimeout(timer);
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    };
    s.on('close', forget);
    s.on('goaway', forget);
    s.on('error', forget);
    this.sessions.set(key, s);
    return s;
  }

  forward(ctx: ProxyContext, service: Service, peer: Peer, attempt: number, headers: string[]): void {
    const secure = service.protocol === 'grpcs';
    const h: http2.OutgoingHttpHeaders = {
      ':method': ctx.upstreamMethod ?? ctx.method,
      ':path': ctx.query || ctx.queryMark ? ctx.upstreamPath + '?' + ctx.query : ctx.upstreamPath,
      ':scheme': secure ? 'https' : 'http',
      ':authority': peer.authority,
    };
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name === 'host') h[':authority'] = headers[i + 1]!;
      else if (!HOP.has(name)) {
        const prev = h[name];
        h[name] = prev === undefined ? headers[i + 1]! : Array.isArray(prev) ? [...prev, headers[i + 1]!] : [String(prev), headers[i + 1]!];
      }
    }
    const req = ctx.req;
    const buffered = ctx.requestBody;
    const streamed = buffered === null && req.headers['transfer-encoding'] !== undefined;
    if (peer.health) peer.health.active++;
    ctx.upstreamStartedAt = performance.now();
    if (attempt === 0) ctx.proxyLatency = ctx.upstreamStartedAt - ctx.startedAt;
    ctx.upstreamTarget = `${peer.host}:${peer.port}`;
    let stream: http2.ClientHttp2Stream;
    const session = this.session(service, peer);
    try {
      stream = session.request(h, { endStream: !streamed && (buffered === null || buffered.length === 0) });
    } catch (err) {
      return this.failed(ctx, service, peer, attempt, err as Error, false);
    }
    const relay = new GrpcRelay(this, ctx, service, peer, attempt, stream);
    if (buffered !== null && buffered.length !== 0) stream.end(buffered);
    else if (streamed) {
      // The body is read only once the session is up: a peer that cannot be reached leaves it
      // unread, for the next peer.
      const pipe = () => {
        relay.piped = true;
        req.pipe(stream);
      };
      if (session.connecting) session.once('connect', pipe);
      else pipe();
    }
  }

  /** The upstream failed before any answer reached the client: another peer, or Kong's error. */
  failed(ctx: ProxyContext, service: Service, peer: Peer, attempt: number, err: TimedOut, bodySent: boolean): void {
    if (peer.health) peer.health.active--;
    const timeout = err.code === 'GOSSAMER_TIMEOUT';
    if (peer.balancer !== null && peer.health !== null) peer.balancer.reportError(peer.health, timeout ? 'timeout' : 'tcp_failure');
    if (ctx.res.destroyed) {
      ctx.status ||= 499;
      return this.out.done(ctx);
    }
    if (!bodySent && this.out.retry(ctx, service, peer, attempt)) return;
    this.out.fail(ctx, timeout ? 504 : 502, timeout ? MSG.timeout : MSG.badGateway);
  }

  done(ctx: ProxyContext, peer: Peer): void {
    if (peer.health) peer.health.active--;
    this.out.done(ctx);
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}

/** One upstream stream relayed to the client's stream: head, messages, trailers. */
class GrpcRelay {
  private answered = false;
  private finished = false;
  /** The answer went out as one HEADERS frame that ended the client's stream. */
  private headersOnly = false;
  /** The client's body is being read into this stream: no other peer can be tried. */
  piped = false;

  constructor(
    private readonly fwd: GrpcForwarder,
    private readonly ctx: ProxyContext,
    private readonly service: Service,
    private readonly peer: Peer,
    private readonly attempt: number,
    private readonly stream: http2.ClientHttp2Stream,
  ) {
    const res = ctx.res;
    if (service.read_timeout > 0) stream.setTimeout(service.read_timeout, () => this.error(timeoutError('read')));
    stream.on('response', (headers, flags) => this.onResponse(headers, flags));
    stream.on('data', (chunk: Buffer) => {
      ctx.bytesOut += chunk.length;
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
      const t: string[] = [];
      passBack(trailers, t);
      const obj: Record<string, string> = {};
      for (let i = 0; i < t.length; i += 2) obj[t[i]!] = t[i + 1]!;
      res.addTrailers(obj);
    });
    stream.on('end', () => this.end());
    stream.on('error', (err: Error) => this.error(err));
    stream.on('close', () => {
      if (!this.finished) this.error(new Error(`upstream stream closed (code ${stream.rstCode ?? 'none'})`));
    });
    // The client went away or reset its stream: the upstream stream goes too.
    res.once('close', () => {
      if (!this.finished) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
  }

  private onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
    const ctx = this.ctx;
    this.answered = true;
    ctx.upstreamLatency = performance.now() - ctx.upstreamStartedAt;
    let status = Number(headers[':status'] ?? 200);
    const b = this.peer.balancer;
    if (b !== null && this.peer.health !== null) b.reportStatus(this.peer.health, status);
    const h: string[] = [];
    passBack(headers, h);
    if (ctx.responseHeaders !== null) h.push(...ctx.responseHeaders);
    // One Via: the upstream's entries, then this proxy's HTTP/2 hop (35-via_spec.lua's gRPC cases).
    const upstreamVia = headers.via;
    h.push('via', upstreamVia ? `${String(upstreamVia)}, ${VIA_H2}` : VIA_H2, 'x-kong-upstream-latency', String(Math.round(ctx.upstreamLatency)), 'x-kong-proxy-latency', String(Math.round(ctx.proxyLatency)), 'x-kong-request-id', ctx.requestId);
    const plugins = ctx.plugins;
    if (plugins !== null && (ctx.phases & PHASE_HEADER_FILTER) !== 0) {
      const head: ResponseHead = { status, headers: h };
      for (const p of plugins) if (p.headerFilter !== undefined) p.headerFilter(ctx, head);
      status = head.status;
    }
    ctx.status = status;
    ctx.sentHeaders = h;
    const res = ctx.res;
    // An HTTP/1.1 client (a route that is not grpc-only) has no stream of its own.
    const clientStream = (res as unknown as Partial<http2.Http2ServerResponse>).stream;
    if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 && clientStream !== undefined) {
      // Trailers-only (a status without messages): one HEADERS frame that ends the stream.
      this.headersOnly = true;
      const out: http2.OutgoingHttpHeaders = { ':status': status };
      for (let i = 0; i < h.length; i += 2) {
        const prev = out[h[i]!];
        out[h[i]!] = prev === undefined ? h[i + 1]! : ([] as string[]).concat(prev as string | string[], h[i + 1]!);
      }
      if (!clientStream.destroyed) clientStream.respond(out, { endStream: true });
      return;
    }
    try {
      res.writeHead(status, h);
    } catch (err) {
      // A header node refuses to send (invalid characters): Kong answers 502 too.
      this.answered = false;
      this.error(err as Error);
    }
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    const res = this.ctx.res;
    if (!res.headersSent && !this.answered) return this.fwd.failed(this.ctx, this.service, this.peer, this.attempt, new Error('upstream ended without an answer'), this.piped);
    if (!this.headersOnly && !res.writableEnded && !res.destroyed) res.end();
    this.fwd.done(this.ctx, this.peer);
  }

  private error(err: TimedOut): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    const ctx = this.ctx;
    if (!this.answered && !ctx.res.headersSent) return this.fwd.failed(ctx, this.service, this.peer, this.attempt, err, this.piped);
    // Midway: the client's stream is reset, as nginx resets it.
    ctx.status ||= 502;
    ctx.res.destroy(err);
    this.fwd.done(ctx, this.peer);
  }
}
