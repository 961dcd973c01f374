// Kong's proxy-cache key (kong/plugins/proxy-cache/cache_key.lua): sha256 of
// `prefix|method|uri|params|headers`, so a key computed for Kong names the same entry here.
import { createHash } from 'node:crypto';

type Args = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** `field=value` (arrays sorted and joined by commas, flags bare) for the fields present, joined by `:`. */
function keyFrom(args: Args, fields: readonly string[]): string {
  const out: string[] = [];
  for (const field of fields) {
    const arg = args[field];
    if (arg === undefined || arg === false) continue;
    if (Array.isArray(arg)) out.push(`${field}=${[...arg].map(String).sort().join(',')}`);
    else if (arg === true) out.push(field);
    else out.push(`${field}=${arg}`);
  }
  return out.join(':');
}

export function paramsKey(params: Args, vary: readonly string[] | null): string {
  if (!vary || vary.length === 0) return keyFrom(params, Object.keys(params).sort());
  return keyFrom(params, vary);
}

export function headersKey(headers: Args, vary: readonly string[] | null): string {
  if (!vary || vary.length === 0) return '';
  return keyFrom(headers, vary.map((h) => h.toLowerCase()));
}

export function prefixOf(consumerId: string | null, routeId: string | null): string {
  if (consumerId && routeId) return `${consumerId}:${routeId}`;
  return routeId ?? 'default';
}

export function buildCacheKey(consumerId: string | null, routeId: string | null, method: string, uri: string, params: Args, headers: Args, conf: { vary_query_params: string[] | null; vary_headers: string[] | null }): string {
  const text = `${prefixOf(consumerId, routeId)}|${method}|${uri}|${paramsKey(params, conf.vary_query_params)}|${headersKey(headers, conf.vary_headers)}`;
  return createHash('sha256').update(text).digest('hex');
}
