// The JSON text of a log entry written directly, without building kong.log.serialize()'s object
// first: the logging plugins' per-request cost. The text is byte for byte what
// stringifyEntry(serializeRequest(ctx)) with the custom fields applied gives (the same field
// order, values and escaping). The few requests whose JSON.stringify output depends on the
// object's key order in ways this writer does not reproduce (a header sent twice, a header name
// starting with a digit, custom fields that reach into the entry) take that object path instead.
import type { ProxyContext } from '../proxy/context.ts';
import { applyCustomFields, literalOf, pathOf } from './custom-fields.ts';
import {
  DEFAULT_WORKSPACE,
  headBytes,
  parseQuery,
  peerOf,
  responseHeaders,
  round,
  serializeRequest,
  stringifyEntry,
  tlsInfo,
  upstreamUri,
} from './log-serializer.ts';
import { EMPTY_TAIL, lineOf, tailOf, type LogLine } from './log-line.ts';

/** The entry's top-level fields: a custom field naming one changes the entry, not appends to it. */
const ENTRY_KEYS = new Set([
  'request', 'upstream_uri', 'upstream_status', 'response', 'latencies', 'tries', 'authenticated_entity',
  'route', 'service', 'consumer', 'client_ip', 'started_at', 'source', 'workspace', 'workspace_name', 'correlation_id',
  '__proto__',
]);

/** Characters JSON.stringify escapes in a string (a surrogate only when unpaired: left to it). */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(s), without its call for the strings that need no escaping (nearly all). */
function str(s: string): string {
  return ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A header name as it arrives → its lower-case form and that as a JSON key (`"host":`). */
const headerNames = new Map<string, { lower: string; key: string }>();

function headerName(raw: string): { lower: string; key: string } {
  let n = headerNames.get(raw);
  if (n === undefined) {
    const lower = raw.toLowerCase();
    n = { lower, key: `${JSON.stringify(lower)}:` };
    // Names are few (clients send the same ones); a flood of invented ones starts the map over.
    if (headerNames.size > 1000) headerNames.clear();
    headerNames.set(raw, n);
  }
  return n;
}

/** A JS array index ("0", "17"): such keys come first in an object, whatever the insertion order. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * What custom_fields_by_lua appends to an entry's JSON (`,"key":value...`), or null when some
 * field is not a new top-level key (nested, replacing or removing a field, an index-like key).
 */
function appendixOf(fields: Record<string, string>): string | null {
  let out = '';
  for (const [key, expr] of Object.entries(fields)) {
    const path = pathOf(key);
    if (path.length !== 1) return null;
    const name = path[0]!;
    if (ENTRY_KEYS.has(name) || INDEX_KEY.test(name)) return null;
    const value = literalOf(expr) ?? null;
    // `return nil` for a field the entry does not have: nothing to remove.
    if (value !== null) out += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return out;
}

/** Per custom_fields_by_lua object (one per plugin instance): its appendix, null for the object path. */
const appendices = new WeakMap<Record<string, string>, string | null>();

function appendixFor(fields: Record<string, string>): string | null {
  let a = appendices.get(fields);
  if (a === undefined) appendices.set(fields, (a = appendixOf(fields)));
  return a;
}

/**
 * `{"name":"value",...}` as headerTable() would stringify, or null when a name repeats (an array
 * then), starts with a digit (it may sort first) or is `__proto__`, or when there are so many
 * headers that the repeat check would cost more than the object.
 */
function headersJson(flat: readonly string[], redact: boolean): string | null {
  if (flat.length > 64) return null;
  const names: string[] = [];
  let out = '{';
  for (let i = 0; i < flat.length; i += 2) {
    const { lower, key } = headerName(flat[i]!);
    const c = lower.charCodeAt(0);
    if ((c >= 48 && c <= 57) || lower === '__proto__' || names.includes(lower)) return null;
    names.push(lower);
    // Kong redacts these two by default: a log collector must not receive credentials.
    const value = redact && (lower === 'authorization' || lower === 'proxy-authorization') ? '"REDACTED"' : str(flat[i + 1]!);
    out += i === 0 ? key + value : `,${key}${value}`;
  }
  return out + '}';
}

/** `"tries":[...]` of an upstream origin, written once per origin. */
const triesJson = new Map<string, string>();

function triesOf(origin: string): string {
  let t = triesJson.get(origin);
  if (t !== undefined) return t;
  const p = peerOf(origin);
  t = p === null ? '' : `,"tries":[{"ip":${JSON.stringify(p.ip)},"port":${p.port},"balancer_latency":0}]`;
  if (triesJson.size > 10_000) triesJson.clear();
  triesJson.set(origin, t);
  return t;
}

let lastHostHeader = '';
let lastHost = '127.0.0.1';

/** The host part of the Host header (no port), as the entry's url has it; the last one is kept. */
function hostOf(hostHeader: string): string {
  if (hostHeader !== lastHostHeader) {
    lastHost = hostHeader.replace(/:\d+$/, '') || '127.0.0.1';
    lastHostHeader = hostHeader;
  }
  return lastHost;
}

/** `"request":{...}` (without the braces' trailing comma); null when its headers need the object path. */
function requestJson(ctx: ProxyContext): string | null {
  const req = ctx.req;
  const headers = headersJson(req.rawHeaders, true);
  if (headers === null) return null;
  const uri = req.url ?? '/';
  const bodyIn = Number(req.headers['content-length'] ?? 0) || 0;
  const size = `${ctx.method} ${uri} HTTP/${req.httpVersion}\r\n`.length + headBytes(req.rawHeaders) + bodyIn;
  const url = `${ctx.https ? 'https' : 'http'}://${hostOf(ctx.hostHeader)}:${ctx.listenPort || req.socket.localPort || 0}${uri}`;
  const query = ctx.query === '' ? '{}' : JSON.stringify(parseQuery(ctx.query));
  const tls = tlsInfo(ctx);
  const tlsJson = tls === undefined ? '' : `,"tls":${JSON.stringify(tls)}`;
  return `"request":{"id":${str(ctx.requestId)},"uri":${str(uri)},"url":${str(url)},"querystring":${query},"method":${str(ctx.method)},"headers":${headers},"size":${size}${tlsJson}}`;
}

/** The entry's fields after `request` up to workspace_name; null when the response headers need the object path. */
function middleJson(ctx: ProxyContext, now: number): string | null {
  const sent = responseHeaders(ctx);
  const headers = headersJson(sent, false);
  if (headers === null) return null;
  const reached = ctx.upstreamLatency >= 0;
  const kong = round(ctx.proxyLatency >= 0 ? ctx.proxyLatency : now - ctx.startedAt);
  const proxy = reached ? round(ctx.upstreamLatency) : -1;
  const ip = ctx.clientIp.startsWith('::ffff:') ? ctx.clientIp.slice(7) : ctx.clientIp;
  const source = ctx.exitStatus !== 0 || !reached ? 'kong' : 'upstream';
  return (
    `"upstream_uri":${str(upstreamUri(ctx))},"upstream_status":${reached ? str(String(ctx.status)) : '""'},` +
    `"response":{"status":${ctx.status || ctx.res.statusCode},"headers":${headers},"size":${headBytes(sent) + 17 + ctx.bytesOut}},` +
    `"latencies":{"kong":${kong},"proxy":${proxy},"request":${round(now - ctx.startedAt)},"receive":0},` +
    `"client_ip":${str(ip)},"started_at":${Math.round(performance.timeOrigin + ctx.startedAt)},"source":"${source}",` +
    `"workspace":"${DEFAULT_WORKSPACE}","workspace_name":"default"`
  );
}

/** authenticated_entity and correlation_id, as far as the request has them; null for the object path. */
function extrasJson(ctx: ProxyContext): string | null {
  let out = '';
  const cred = ctx.credential;
  if (cred) {
    if (typeof cred.id !== 'string' || typeof cred.consumer.id !== 'string') return null;
    out += `,"authenticated_entity":{"id":${str(cred.id)},"consumer_id":${str(cred.consumer.id)}}`;
  }
  const correlation = ctx.shared?.['correlation_id'];
  if (typeof correlation === 'string') out += `,"correlation_id":${str(correlation)}`;
  return out;
}

/** The old way, for what the writer leaves to it: build the object, apply the custom fields, stringify. */
function viaObject(ctx: ProxyContext, fields: Record<string, string> | null, now: number): string {
  const entry = serializeRequest(ctx, now);
  applyCustomFields(entry, fields);
  return stringifyEntry(entry);
}

/** The entry's text up to its tail, or null when the object way writes this one. */
function headOf(ctx: ProxyContext, fields: Record<string, string> | null, now: number): string | null {
  const appendix = fields === null ? '' : appendixFor(fields);
  if (appendix === null) return null;
  const request = requestJson(ctx);
  const middle = request === null ? null : middleJson(ctx, now);
  const extras = middle === null ? null : extrasJson(ctx);
  if (extras === null) return null;
  const tries = ctx.upstreamTarget === null ? '' : triesOf(ctx.upstreamTarget);
  return `{${request},${middle}${tries}${extras}${appendix}`;
}

/**
 * The log entry of a finished request as JSON text: kong.log.serialize() with the plugin's
 * custom_fields_by_lua applied. `now` is the clock the latencies end at.
 */
export function writeEntry(ctx: ProxyContext, fields: Record<string, string> | null, now = performance.now()): string {
  const head = headOf(ctx, fields, now);
  return head === null ? viaObject(ctx, fields, now) : head + tailOf(ctx.route, ctx.service, ctx.consumer).text;
}

/** writeEntry's text as a log line (its bytes, in head and shared tail). */
export function writeLine(ctx: ProxyContext, fields: Record<string, string> | null, now = performance.now()): LogLine {
  const head = headOf(ctx, fields, now);
  return head === null ? lineOf(viaObject(ctx, fields, now), EMPTY_TAIL) : lineOf(head, tailOf(ctx.route, ctx.service, ctx.consumer));
}
