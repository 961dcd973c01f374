// request-termination's `echo`: the request as Kong's handler describes it back to the client
// (kong.request.* and the matched route and service), for debugging live traffic.
import { hostname } from 'node:os';
import type { ProxyContext } from '../../proxy/context.ts';

/** kong.request.get_query(): a value per name, an array when repeated, true for a bare name. */
export function queryTable(query: string): Record<string, string | boolean | (string | boolean)[]> {
  const out: Record<string, string | boolean | (string | boolean)[]> = {};
  if (query === '') return out;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    let name: string;
    let value: string | boolean;
    try {
      name = decode(eq === -1 ? part : part.slice(0, eq));
      value = eq === -1 ? true : decode(part.slice(eq + 1));
    } catch {
      continue;
    }
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** kong.request.get_headers(): lower-case names, an array when a header is repeated. */
function headerTable(ctx: ProxyContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(ctx.req.headersDistinct)) if (values) out[name] = values.length === 1 ? values[0]! : values;
  return out;
}

/** kong.request.get_body(): form and JSON bodies decoded; undefined for other types. */
function parsedBody(ctx: ProxyContext, raw: string): unknown {
  const type = (ctx.getRequestHeader('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return queryTable(raw);
  if (type === 'application/json') {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function echoBody(ctx: ProxyContext, message: string | undefined): Record<string, unknown> {
  const raw = ctx.requestBody?.toString('utf8') ?? '';
  const captures = ctx.captures;
  const colon = ctx.hostHeader.lastIndexOf(':');
  const host = colon > 0 && !ctx.hostHeader.endsWith(']') ? ctx.hostHeader.slice(0, colon) : ctx.hostHeader;
  return {
    message,
    // node_id: a plugin does not see the node's id (see README); the pid and hostname are this worker's.
    kong: { node_id: null, worker_pid: process.pid, hostname: hostname() },
    request: {
      scheme: ctx.https ? 'https' : 'http',
      host: host.toLowerCase(),
      port: ctx.listenPort,
      headers: headerTable(ctx),
      query: queryTable(ctx.query),
      body: parsedBody(ctx, raw),
      raw_body: raw,
      method: ctx.method,
      path: ctx.path,
      uri_captures: { named: { ...(captures?.groups ?? {}) }, unnamed: captures ? captures.slice(1) : [] },
    },
    matched_route: ctx.route,
    matched_service: ctx.service,
  };
}
