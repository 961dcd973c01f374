// Kong's proxy-cache with the memory strategy (kong/plugins/proxy-cache/handler.lua): access
// answers a fresh cached response (X-Cache-Status: Hit) or marks the request Miss / Refresh /
// Bypass; header_filter decides whether the upstream's answer may be cached; body_filter
// collects it and the log phase, once the answer is complete, stores it.
import type { ProxyContext, ResponseHead } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { parseQuery } from '../log-serializer.ts';
import { buildCacheKey } from './cache-key.ts';
import { contentTypeMatches, parseDirectives, resourceTtl, type Directives } from './cache-control.ts';
import { headerValue, setHeader } from '../flat-headers.ts';
import { storeFor, type CachedResponse } from './memory-store.ts';
import type { ProxyCacheConfig } from './schema.ts';

const CACHE_VERSION = 1;

/** Not stored (Kong's hop_by_hop_headers, plus what the proxy adds to every answer itself). */
const NOT_STORED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade', 'content-length', 'via', 'server']);
/** What the proxy sets on every answer itself (Kong's latency and request-id headers). */
const KONG_OWN = new Set(['x-kong-request-id', 'x-kong-upstream-latency', 'x-kong-proxy-latency', 'x-kong-response-latency']);
/** Set afresh on every Hit (Kong's reset_res_header). */
const RESET_ON_HIT = new Set(['age', 'x-cache-status', 'x-cache-key']);

function storable(name: string): boolean {
  const n = name.toLowerCase();
  return !NOT_STORED.has(n) && !KONG_OWN.has(n);
}

function replayable(name: string): boolean {
  const n = name.toLowerCase();
  return !RESET_ON_HIT.has(n) && !n.includes('ratelimit-remaining');
}

interface Pending {
  key: string;
  ttl: number;
  chunks: Buffer[] | null;
  headers: string[];
  status: number;
  /** The entry this request found stale (Refresh), which its own answer replaces whatever it holds. */
  replaces: CachedResponse | undefined;
}

const nowS = () => Math.floor(Date.now() / 1000);

const handler: PluginHandler<ProxyCacheConfig> = {
  create(conf, env): PluginInstance {
    const store = storeFor(conf.memory.dictionary_name);
    const pending = new WeakMap<ProxyContext, Pending>();
    const wants = (ctx: ProxyContext, h: 'X-Cache-Status' | 'X-Cache-Key' | 'age') => conf.response_headers[h] || ctx.req.headers['kong-debug'] !== undefined;

    const cacheableRequest = (ctx: ProxyContext, cc: Directives): boolean => {
      if (!(conf.request_method as string[]).includes(ctx.method)) return false;
      if (conf.cache_control && (cc['no-store'] || cc['no-cache'] || ctx.req.headers.authorization !== undefined)) return false;
      return true;
    };

    const cacheableResponse = (head: ResponseHead, cc: Directives): boolean => {
      if (!conf.response_code.includes(head.status)) return false;
      if (!contentTypeMatches(headerValue(head.headers, 'content-type'), conf.content_type)) return false;
      if (conf.cache_control && (cc['private'] || cc['no-store'] || cc['no-cache'])) return false;
      if (conf.cache_control && resourceTtl(cc, headerValue(head.headers, 'expires'), nowS()) <= 0) return false;
      return true;
    };

    /** A cached answer still fresh for this request, or the status to mark it with. */
    const freshness = (res: CachedResponse, cc: Directives): 'Hit' | 'Refresh' => {
      const age = nowS() - res.timestamp;
      if (!conf.cache_control) return age > conf.cache_ttl ? 'Refresh' : 'Hit';
      if (typeof cc['max-age'] === 'number' && age > cc['max-age']) return 'Refresh';
      if (typeof cc['max-stale'] === 'number' && age - res.ttl > cc['max-stale']) return 'Refresh';
      if (typeof cc['min-fresh'] === 'number' && res.ttl - age < cc['min-fresh']) return 'Refresh';
      return 'Hit';
    };

    const replay = (ctx: ProxyContext, res: CachedResponse, key: string): void => {
      const h: string[] = [];
      for (let i = 0; i < res.headers.length; i += 2) if (replayable(res.headers[i]!)) h.push(res.headers[i]!, res.headers[i + 1]!);
      if (wants(ctx, 'age')) h.push('Age', String(nowS() - res.timestamp));
      if (wants(ctx, 'X-Cache-Status')) h.push('X-Cache-Status', 'Hit');
      if (wants(ctx, 'X-Cache-Key')) h.push('X-Cache-Key', key);
      ctx.exitRaw(res.status, res.body, h);
    };

    return {
      name: 'proxy-cache',
      access(ctx) {
        const cc = parseDirectives(ctx.req.headers['cache-control']);
        if (!cacheableRequest(ctx, cc)) {
          if (wants(ctx, 'X-Cache-Status')) ctx.addResponseHeader('X-Cache-Status', 'Bypass');
          return;
        }
        // Kong keys on the request line without its query (`GET /path HTTP/1.1`, or `GET /path`
        // when a query was cut off), so keys computed for Kong match.
        let uri = `${ctx.method} ${ctx.req.url ?? '/'} HTTP/${ctx.req.httpVersion}`.replace(/\?.*/, '');
        if (conf.ignore_uri_case) uri = uri.toLowerCase();
        const key = buildCacheKey(ctx.consumer?.id ?? null, ctx.route?.id ?? null, ctx.method, uri, parseQuery(ctx.query), ctx.req.headers, conf);
        const cached = store.get(key);
        let status: 'Miss' | 'Refresh' = 'Miss';
        if (cached === undefined) {
          if (conf.cache_control && cc['only-if-cached']) {
            ctx.exit(504, '');
            return;
          }
        } else if (cached.version !== CACHE_VERSION) {
          store.delete(key);
        } else if (freshness(cached, cc) === 'Hit') {
          replay(ctx, cached, key);
          return;
        } else status = 'Refresh';
        if (wants(ctx, 'X-Cache-Key')) ctx.addResponseHeader('X-Cache-Key', key);
        if (wants(ctx, 'X-Cache-Status')) ctx.addResponseHeader('X-Cache-Status', status);
        pending.set(ctx, { key, ttl: conf.cache_ttl, chunks: null, headers: [], status: 0, replaces: status === 'Refresh' ? cached : undefined });
      },
      headerFilter(ctx, head) {
        const p = pending.get(ctx);
        if (p === undefined || ctx.exitStatus !== 0) return;
        const cc = parseDirectives(headerValue(head.headers, 'cache-control'));
        if (!cacheableResponse(head, cc)) {
          if (wants(ctx, 'X-Cache-Status')) setHeader(head.headers, 'X-Cache-Status', 'Bypass');
          pending.delete(ctx);
          return;
        }
        p.ttl = conf.cache_control ? resourceTtl(cc, headerValue(head.headers, 'expires'), nowS()) : conf.cache_ttl;
        p.status = head.status;
        for (let i = 0; i < head.headers.length; i += 2) if (storable(head.headers[i]!)) p.headers.push(head.headers[i]!, head.headers[i + 1]!);
        p.chunks = [];
      },
      bodyFilter(ctx, chunk) {
        const p = pending.get(ctx);
        if (p !== undefined && p.chunks !== null) p.chunks.push(chunk);
        return chunk;
      },
      log(ctx) {
        const p = pending.get(ctx);
        if (p === undefined || p.chunks === null) return;
        pending.delete(ctx);
        const body = Buffer.concat(p.chunks);
        const declared = headerValue(p.headers, 'content-length');
        // An answer cut short (upstream or client gone) is not cached.
        if (declared !== undefined && Number(declared) !== body.length) return;
        if (ctx.res.destroyed && !ctx.res.writableFinished) return;
        const entry: CachedResponse = { status: p.status, headers: p.headers, body, body_len: body.length, timestamp: nowS(), ttl: p.ttl, version: CACHE_VERSION, req_body: null };
        const ttl = conf.storage_ttl ?? (conf.cache_control ? p.ttl : conf.cache_ttl);
        // Another worker's answer to the same miss, arrived while this one was proxied, may win
        // (memory-store.ts, supersedes); the stale entry this request refreshes never does.
        const stored = store.offer(p.key, entry, ttl, p.replaces);
        if (stored === 'superseded') return;
        if (stored === 'too large') {
          env.logger.warn({ plugin: 'proxy-cache', bytes: body.length }, 'proxy-cache: response larger than the cache; not stored');
          return;
        }
        // Kong's dictionary is shared by the node's workers: the others get a copy, so the next
        // request is a Hit whichever worker its connection landed on.
        env.tellSiblings?.('proxy-cache', { op: 'store', dictionary: conf.memory.dictionary_name, key: p.key, entry, ttl });
      },
    };
  },
};

export default handler;
