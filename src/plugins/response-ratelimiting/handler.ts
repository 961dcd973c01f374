// Kong's response-ratelimiting: the upstream says what a request cost in its `X-Kong-Limit`
// header (`videos=1, images=3`); the plugin counts those costs per named limit and period.
// access: refuse (block_on_first_violation) or tell the upstream what remains
// (X-RateLimit-Remaining-<name>); header_filter: the client's headers, and a 429 without body
// when a limit was already used up; log: add the costs.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { limitKey, limitStore, storeDown } from '../rate-limiting/limit-store.ts';
import { PERIODS, windowEnd, type Period } from '../rate-limiting/windows.ts';
import { removeHeader } from '../flat-headers.ts';
import type { ResponseRateLimitingConfig } from './schema.ts';

interface Usage {
  name: string;
  period: Period;
  limit: number;
  remaining: number;
  key: string;
  end: number;
}

/** `videos=1, images=3` → { videos: 1, images: 3 }, only for configured limits (Kong's parse_header). */
export function parseIncrements(header: string | string[] | undefined, limits: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  if (header === undefined) return out;
  const parts = Array.isArray(header) ? header.flatMap((h) => h.split(',')) : header.split(',');
  for (const part of parts) {
    const kv = part.split('=');
    if (kv.length !== 2) continue;
    const name = kv[0]!.trim();
    const n = Number.parseInt(kv[1]!.trim(), 10);
    if (name in limits && Number.isFinite(n)) out.set(name, n);
  }
  return out;
}

const handler: PluginHandler<ResponseRateLimitingConfig> = {
  create(conf, env, entity): PluginInstance {
    const store = limitStore(conf, env);
    const headerName = conf.header_name.toLowerCase();
    const usages = new WeakMap<ProxyContext, Usage[]>();
    const identifier = (ctx: ProxyContext): string => {
      if (conf.limit_by === 'consumer') return ctx.consumer?.id ?? ctx.credential?.id ?? ctx.clientIp;
      if (conf.limit_by === 'credential') return ctx.credential?.id ?? ctx.clientIp;
      return ctx.clientIp;
    };
    return {
      name: 'response-ratelimiting',
      access(ctx) {
        if (storeDown(ctx, store, conf.fault_tolerant)) return;
        const id = identifier(ctx);
        const now = Date.now();
        const usage: Usage[] = [];
        for (const [name, l] of Object.entries(conf.limits)) {
          let remaining = Infinity;
          for (const period of PERIODS) {
            const limit = l[period];
            if (limit === null) continue;
            const end = windowEnd(period, now);
            const key = limitKey(conf.policy, `rrl:${entity.id}:${id}:${name}:${period}:${end}`, limit);
            const left = limit - store.get(key, end);
            if (conf.block_on_first_violation && left <= 0) {
              ctx.exit(429, { message: `API rate limit exceeded for '${name}'`, request_id: ctx.requestId });
              return;
            }
            usage.push({ name, period, limit, remaining: left, key, end });
            remaining = Math.min(remaining, left);
          }
          ctx.setRequestHeader(`x-ratelimit-remaining-${name}`, String(remaining));
        }
        usages.set(ctx, usage);
      },
      headerFilter(ctx, head) {
        const usage = usages.get(ctx);
        const increments = parseIncrements(removeHeader(head.headers, headerName), conf.limits);
        if (usage === undefined) return;
        (ctx.shared ??= {})['rrl-increments'] = increments;
        let stop = false;
        for (const u of usage) {
          const inc = increments.get(u.name) ?? 0;
          if (!conf.hide_client_headers) {
            head.headers.push(`X-RateLimit-Limit-${u.name}-${u.period}`, String(u.limit), `X-RateLimit-Remaining-${u.name}-${u.period}`, String(Math.max(0, u.remaining - inc)));
          }
          if (inc > 0 && u.remaining <= 0) stop = true;
        }
        if (stop) {
          // Kong's kong.response.exit(429) here: the status, and no body.
          usages.delete(ctx);
          head.status = 429;
          removeHeader(head.headers, 'content-type');
          (ctx.responseBodyTransforms ??= []).push(() => Buffer.alloc(0));
        }
      },
      log(ctx) {
        const usage = usages.get(ctx);
        const increments = ctx.shared?.['rrl-increments'] as Map<string, number> | undefined;
        if (usage === undefined || increments === undefined) return;
        for (const u of usage) {
          const inc = increments.get(u.name);
          if (inc) store.incr(u.key, u.end, inc);
        }
      },
    };
  },
};

export default handler;
