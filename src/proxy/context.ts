// One request's state as it moves through router → plugins → balancer → forwarder. Plugins
// read and change it through the small helpers below instead of touching the outgoing
// request directly, so a request without plugins pays for none of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Consumer, Route, Service } from '../entities/types.ts';

/** Bits of ProxyContext.phases. */
export const PHASE_HEADER_FILTER = 1;
export const PHASE_BODY_FILTER = 2;
export const PHASE_LOG = 4;

/**
 * The phases a plugin instance implements (Kong's handler.lua, as TypeScript). Declared here,
 * beside the context its phases receive, so the proxy does not import src/plugins/ for it
 * (src/plugins/types.ts re-exports it for the plugins).
 */
export interface PluginInstance {
  readonly name: string;
  /**
   * access phase: may call ctx.exit() to answer the client without proxying. It may return a
   * promise when it must wait for something first (a counter in Redis it has not read yet, as
   * Kong's access yields on a cosocket); the next plugin's access runs once it settles.
   */
  access?(ctx: ProxyContext): void | Promise<void>;
  /**
   * Whether this request's access phase needs the request body (an auth plugin's key in the
   * body when no key is in a header or the query): the proxy then reads it whole into
   * ctx.requestBody before access and sends that upstream. Otherwise the body streams.
   */
  needsBody?(ctx: ProxyContext): boolean;
  /** header_filter: edit the response status line and headers before they are sent. */
  headerFilter?(ctx: ProxyContext, head: ResponseHead): void;
  /** body_filter: transform each response chunk (return it unchanged to pass it through). */
  bodyFilter?(ctx: ProxyContext, chunk: Buffer): Buffer;
  /** log: after the response has been sent. */
  log?(ctx: ProxyContext): void;
  /** Release timers etc. when the configuration that built it is replaced. */
  close?(): void;
}

/** What an auth plugin found: any credential entity names its consumer. */
export interface Credential {
  id: string;
  consumer: { id: string };
}

/** The PHASE_* bits of one plugin instance. */
export function phasesOf(p: PluginInstance): number {
  return (p.headerFilter !== undefined ? PHASE_HEADER_FILTER : 0) | (p.bodyFilter !== undefined ? PHASE_BODY_FILTER : 0) | (p.log !== undefined ? PHASE_LOG : 0);
}

export interface ResponseHead {
  status: number;
  /** Flat [name, value, name, value...] with lower-case names; plugins edit it in header_filter. */
  headers: string[];
}

/** A whole-body rewrite by a plugin (request or response body); null leaves the body as it is. */
export type BodyTransform = (body: Buffer, ctx: ProxyContext) => Buffer | null;

export class ProxyContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** process.hrtime.bigint()-free clock: performance.now() ms at arrival. */
  readonly startedAt: number;
  /**
   * The client's address (nginx's $remote_addr): the peer's, or the one a trusted peer names
   * in real_ip_header (real-ip.ts). Plugins and logs see this one.
   */
  clientIp: string;
  /** The address that connected (nginx's $realip_remote_addr): X-Forwarded-For appends it. */
  readonly peerIp: string;
  /** The peer is in trusted_ips (kong.ip.is_trusted): its X-Forwarded-* headers are kept. */
  trustedPeer = false;
  readonly method: string;
  /** Host header as received (with port). */
  readonly hostHeader: string;
  /** Normalized request path, no query. */
  readonly path: string;
  /** The client came over TLS (an `ssl` proxy_listen entry): X-Forwarded-Proto https. */
  https = false;
  /** A gRPC request (HTTP/2, Content-Type application/grpc...): Kong's answers carry grpc-status. */
  grpc = false;
  /** Port of the listener the request arrived on (X-Forwarded-Port). */
  listenPort = 0;
  /** Raw query without '?', '' when absent; plugins may replace it. */
  query: string;
  /** The request had a '?' (Kong sends `/request?` on with its '?', args or not). */
  queryMark = false;
  /** The path as the client wrote it (X-Forwarded-Path), before normalization. */
  rawPath = '/';
  route: Route | null = null;
  service: Service | null = null;
  consumer: Consumer | null = null;
  /** The credential an auth plugin authenticated the request with (Kong's authenticated_credential). */
  credential: Credential | null = null;
  /** Plugin instances resolved for this request, in priority order (header_filter/log reuse them). */
  plugins: PluginInstance[] | null = null;
  /** Which later phases any of `plugins` has (PHASE_* bits): requests skip the loops of the others. */
  phases = 0;
  upstreamPath = "/";
  /** The matched prefix strip_path removed (X-Forwarded-Prefix), else null. */
  strippedPrefix: string | null = null;
  /** Regex captures of the matched route path (Kong uri_captures). */
  captures: RegExpExecArray | null = null;
  /** Header edits for the upstream request: name (lower-case) → value, or null to remove. */
  requestHeaderEdits: Map<string, string | string[] | null> | null = null;
  /** Extra headers for the client response, flat [name, value...]. */
  responseHeaders: string[] | null = null;
  /** The upstream answer's headers as sent to the client, flat [name, value...] (log plugins read them). */
  sentHeaders: string[] | null = null;
  /** Set by exit(): a short-circuit response produced by a plugin or the proxy. */
  exitStatus = 0;
  exitBody: string | null = null;
  /** Set by exitRaw(): the answer's body as it is, typed by the plugin's own headers (a cached response...). */
  exitRawBody: Buffer | null = null;
  status = 0;
  upstreamLatency = -1;
  proxyLatency = -1;
  upstreamStartedAt = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Kong's `kong.ctx.shared`: lets plugins talk to each other within one request. */
  shared: Record<string, unknown> | null = null;
  upstreamTarget: string | null = null;
  /**
   * Most bytes of body the forwarder lets through (0: no limit): nginx_http_client_max_body_size,
   * lowered by a plugin's own limit. A body past it is cut off with 413.
   */
  requestBodyLimit = 0;
  /** Method sent upstream, when a plugin changes it. */
  upstreamMethod: string | null = null;
  /**
   * Set in access by plugins that rewrite the request body: the forwarder then reads the body
   * whole before sending it. Requests without them keep streaming.
   */
  requestBodyTransforms: BodyTransform[] | null = null;
  /** The rewritten request body, once read (a retry sends it again). */
  requestBody: Buffer | null = null;
  /**
   * A body too large for nginx_http_client_body_buffer_size: the chunks read before that was
   * clear. The plugins did not see the body; it goes upstream unchanged, these chunks first.
   */
  requestBodyHead: Buffer[] | null = null;
  /**
   * Set in header_filter by plugins that rewrite the response body: the relay then holds the
   * answer until it is complete and sends it with a fresh Content-Length.
   */
  responseBodyTransforms: BodyTransform[] | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, requestId: string, startedAt: number, path: string, query: string, hostHeader: string) {
    this.req = req;
    this.res = res;
    this.requestId = requestId;
    this.startedAt = startedAt;
    this.peerIp = req.socket.remoteAddress ?? '';
    this.clientIp = this.peerIp;
    this.method = req.method ?? 'GET';
    this.path = path;
    this.query = query;
    this.hostHeader = hostHeader;
  }

  /** kong.request.get_header: the client's header (first value), after plugin edits. */
  getRequestHeader(name: string): string | undefined {
    const edits = this.requestHeaderEdits;
    if (edits && edits.has(name)) {
      const v = edits.get(name);
      return v === null ? undefined : Array.isArray(v) ? v[0] : v;
    }
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  setRequestHeader(name: string, value: string | string[]): void {
    (this.requestHeaderEdits ??= new Map()).set(name.toLowerCase(), value);
  }

  removeRequestHeader(name: string): void {
    (this.requestHeaderEdits ??= new Map()).set(name.toLowerCase(), null);
  }

  addResponseHeader(name: string, value: string): void {
    (this.responseHeaders ??= []).push(name, value);
  }

  /**
   * kong.response.exit with a body that is not a JSON message: sent as given, with the
   * plugin's headers (its content-type included), through the header filters like any exit.
   */
  exitRaw(status: number, body: Buffer, headers: string[]): void {
    this.exitStatus = status;
    this.exitBody = null;
    this.exitRawBody = body;
    (this.responseHeaders ??= []).push(...headers);
  }

  /** kong.response.exit: stop the access phase and answer the client with a JSON message. */
  exit(status: number, body: string | Record<string, unknown>, headers?: string[]): void {
    this.exitStatus = status;
    this.exitBody = typeof body === 'string' ? body : JSON.stringify(body);
    if (headers) (this.responseHeaders ??= []).push(...headers);
  }
}
