// Kong's basic log serializer (kong.log.serialize in kong/pdk/log.lua): the JSON object every
// logging plugin (file-log, http-log) writes per request. Field names and shapes are Kong's so a
// collector built for Kong's logs reads Gossamer's unchanged.
import type { ProxyContext } from '../proxy/context.ts';

export interface LogEntry {
  request: {
    id: string;
    uri: string;
    url: string;
    querystring: Record<string, string | boolean | (string | boolean)[]>;
    method: string;
    headers: Record<string, string | string[]>;
    size: number;
    tls?: { version: string; cipher: string; client_verify: string };
  };
  upstream_uri: string;
  upstream_status: string;
  response: { status: number; headers: Record<string, string | string[]>; size: number };
  latencies: { kong: number; proxy: number; request: number; receive: number };
  tries?: { ip: string; port: number; balancer_latency: number }[];
  authenticated_entity?: { id: string; consumer_id: string };
  route?: unknown;
  service?: unknown;
  consumer?: unknown;
  client_ip: string;
  started_at: number;
  source: 'kong' | 'upstream';
  workspace: string;
  workspace_name: string;
  [custom: string]: unknown;
}

/** Kong's default workspace: single-workspace Kong logs this id. */
export const DEFAULT_WORKSPACE = '00000000-0000-0000-0000-000000000000';

/** kong.request.get_query(): repeated keys become arrays, a key without `=` is `true`. */
export function parseQuery(raw: string): LogEntry['request']['querystring'] {
  const out: LogEntry['request']['querystring'] = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq));
    const value: string | boolean = eq === -1 ? true : decode(part.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Headers as ngx.req.get_headers() gives them: lower-case names, repeated ones as arrays. */
export function headerTable(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** Bytes of a header block as sent on the wire (`name: value\r\n` each). */
export function headBytes(flat: readonly string[]): number {
  let n = 2;
  for (let i = 0; i < flat.length; i += 2) n += flat[i]!.length + flat[i + 1]!.length + 4;
  return n;
}

export function requestHeaders(ctx: ProxyContext): Record<string, string | string[]> {
  const h = headerTable(ctx.req.rawHeaders);
  // Kong redacts these two by default: a log collector must not receive credentials.
  if (h['authorization'] !== undefined) h['authorization'] = 'REDACTED';
  if (h['proxy-authorization'] !== undefined) h['proxy-authorization'] = 'REDACTED';
  return h;
}

export function responseHeaders(ctx: ProxyContext): string[] {
  if (ctx.sentHeaders !== null) return ctx.sentHeaders;
  const h = ctx.res.getHeaders();
  const flat: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) flat.push(k, x);
    else if (v !== undefined) flat.push(k, String(v));
  }
  return flat;
}

export function upstreamUri(ctx: ProxyContext): string {
  if (ctx.upstreamTarget === null) return '';
  const raw = ctx.req.url ?? '';
  if (ctx.query !== '') return `${ctx.upstreamPath}?${ctx.query}`;
  // Kong keeps a bare trailing `?` the client sent.
  return raw.endsWith('?') ? `${ctx.upstreamPath}?` : ctx.upstreamPath;
}

/** ip and port of an upstream origin (`http://10.0.0.1:8080`), parsed once per origin. */
const peers = new Map<string, { ip: string; port: number } | null>();

export function peerOf(origin: string): { ip: string; port: number } | null {
  let p = peers.get(origin);
  if (p !== undefined) return p;
  try {
    const u = new URL(origin);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    p = { ip: host, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  } catch {
    p = null;
  }
  if (peers.size > 10_000) peers.clear();
  peers.set(origin, p);
  return p;
}

function tries(ctx: ProxyContext): LogEntry['tries'] {
  const target = ctx.upstreamTarget;
  const p = target === null ? null : peerOf(target);
  return p === null ? undefined : [{ ip: p.ip, port: p.port, balancer_latency: 0 }];
}

export function tlsInfo(ctx: ProxyContext): LogEntry['request']['tls'] {
  if (!ctx.https) return undefined;
  const sock = ctx.req.socket as { getProtocol?: () => string | null; getCipher?: () => { standardName?: string; name: string } };
  const version = sock.getProtocol?.() ?? '';
  const cipher = sock.getCipher?.();
  return { version, cipher: cipher ? cipher.standardName ?? cipher.name : '', client_verify: 'NONE' };
}

export const round = (ms: number): number => Math.max(0, Math.round(ms));

/** kong.log.serialize() for a finished request; `now` is the clock its latencies end at. */
export function serializeRequest(ctx: ProxyContext, now = performance.now()): LogEntry {
  const uri = ctx.req.url ?? '/';
  const req = ctx.req;
  const scheme = ctx.https ? 'https' : 'http';
  const host = ctx.hostHeader.replace(/:\d+$/, '') || '127.0.0.1';
  const reqHeaders = requestHeaders(ctx);
  const resHeaders = responseHeaders(ctx);
  const bodyIn = Number(req.headers['content-length'] ?? 0) || 0;
  const reachedUpstream = ctx.upstreamLatency >= 0;
  const entry: LogEntry = {
    request: {
      id: ctx.requestId,
      uri,
      url: `${scheme}://${host}:${ctx.listenPort || req.socket.localPort || 0}${uri}`,
      querystring: parseQuery(ctx.query),
      method: ctx.method,
      headers: reqHeaders,
      size: `${ctx.method} ${uri} HTTP/${req.httpVersion}\r\n`.length + headBytes(req.rawHeaders) + bodyIn,
    },
    upstream_uri: upstreamUri(ctx),
    upstream_status: reachedUpstream ? String(ctx.status) : '',
    response: { status: ctx.status || ctx.res.statusCode, headers: headerTable(resHeaders), size: headBytes(resHeaders) + 17 + ctx.bytesOut },
    latencies: {
      kong: round(ctx.proxyLatency >= 0 ? ctx.proxyLatency : now - ctx.startedAt),
      proxy: reachedUpstream ? round(ctx.upstreamLatency) : -1,
      request: round(now - ctx.startedAt),
      receive: 0,
    },
    client_ip: ctx.clientIp.startsWith('::ffff:') ? ctx.clientIp.slice(7) : ctx.clientIp,
    started_at: Math.round(performance.timeOrigin + ctx.startedAt),
    source: ctx.exitStatus !== 0 || !reachedUpstream ? 'kong' : 'upstream',
    workspace: DEFAULT_WORKSPACE,
    workspace_name: 'default',
  };
  const tls = tlsInfo(ctx);
  if (tls) entry.request.tls = tls;
  const t = tries(ctx);
  if (t) entry.tries = t;
  if (ctx.credential) entry.authenticated_entity = { id: ctx.credential.id, consumer_id: ctx.credential.consumer.id };
  if (ctx.route) entry.route = ctx.route;
  if (ctx.service) entry.service = ctx.service;
  if (ctx.consumer) entry.consumer = ctx.consumer;
  const correlation = ctx.shared?.['correlation_id'];
  if (typeof correlation === 'string') entry['correlation_id'] = correlation;
  return entry;
}

/** JSON of an entity object: entities are replaced, never changed, so one string per object is enough. */
const entityJson = new WeakMap<object, string>();

export function jsonOf(v: unknown): string {
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  let j = entityJson.get(v);
  if (j === undefined) entityJson.set(v, (j = JSON.stringify(v)));
  return j;
}

/**
 * JSON.stringify(entry), with the route, service and consumer written from a string kept per
 * entity object: they are most of an entry's bytes and the same for every request of a route.
 */
export function stringifyEntry(entry: LogEntry): string {
  const { route, service, consumer, ...rest } = entry;
  const tail: string[] = [];
  if (route !== undefined) tail.push(`"route":${jsonOf(route)}`);
  if (service !== undefined) tail.push(`"service":${jsonOf(service)}`);
  if (consumer !== undefined) tail.push(`"consumer":${jsonOf(consumer)}`);
  const head = JSON.stringify(rest);
  return tail.length === 0 ? head : `${head.slice(0, -1)},${tail.join(',')}}`;
}
