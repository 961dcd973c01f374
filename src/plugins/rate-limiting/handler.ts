// Kong's rate-limiting: fixed windows per configured period, counted where the policy says
// (limit-store.ts: the node's counters, shared cluster-wide for `cluster`, or Redis). The check
// happens before the increment, as in Kong, so exactly `limit` requests pass per window on one
// process.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { limitKey, limitStore, storeDown } from './limit-store.ts';
import type { RateLimitingConfig } from './schema.ts';
import { HEADER_SUFFIX, PERIODS, windowEnd, type Period } from './windows.ts';

const handler: PluginHandler<RateLimitingConfig> = {
  create(conf, env, entity): PluginInstance {
    const limits: { period: Period; limit: number; limitText: string; limitHeader: string; remainingHeader: string; prefix: string }[] = [];
    for (const p of PERIODS) {
      const l = conf[p];
      if (l) {
        limits.push({
          period: p, limit: l, limitText: String(l),
          limitHeader: `X-RateLimit-Limit-${HEADER_SUFFIX[p]}`, remainingHeader: `X-RateLimit-Remaining-${HEADER_SUFFIX[p]}`,
          prefix: limitKey(conf.policy, `rl:${entity.id}:${p}:`, l),
        });
      }
    }
    const headerName = conf.header_name?.toLowerCase() ?? '';
    const identifier = (ctx: ProxyContext): string => {
      switch (conf.limit_by) {
        case 'consumer':
          return ctx.consumer?.id ?? ctx.credential?.id ?? ctx.clientIp;
        case 'credential':
          return ctx.credential?.id ?? ctx.clientIp;
        case 'service':
          return ctx.service?.id ?? ctx.clientIp;
        case 'header':
          return ctx.getRequestHeader(headerName) ?? ctx.clientIp;
        case 'path':
          return ctx.path === conf.path ? ctx.path : ctx.clientIp;
        default:
          return ctx.clientIp;
      }
    };
    const store = limitStore(conf, env);
    const usage = new Array<number>(limits.length);
    const keys = new Array<string>(limits.length);
    const ends = new Array<number>(limits.length);
    // The key of the last request per period: the next one from the same client in the same
    // window reuses the string (already hashed by the counters' Map) instead of building it.
    const lastIds = new Array<string>(limits.length).fill('');
    const lastEnds = new Array<number>(limits.length).fill(0);
    const lastKeys = new Array<string>(limits.length).fill('');
    /** The check, the client's headers and the count: synchronous, so the arrays above are this request's alone. */
    const decide = (ctx: ProxyContext, id: string): void => {
        const now = Date.now();
        let stop = -1;
        for (let i = 0; i < limits.length; i++) {
          const l = limits[i]!;
          const end = windowEnd(l.period, now);
          let key = lastKeys[i]!;
          if (end !== lastEnds[i] || id !== lastIds[i]) {
            key = l.prefix + id + ':' + end;
            lastKeys[i] = key;
            lastEnds[i] = end;
            lastIds[i] = id;
          }
          keys[i] = key;
          ends[i] = end;
          const used = store.get(key, end);
          usage[i] = used;
          if (l.limit - used <= 0 && stop === -1) stop = i;
        }
        let resetS = 0;
        if (!conf.hide_client_headers) {
          let bestRemaining = Infinity;
          let bestRemainingText = 'Infinity';
          let bestLimit = '0';
          let bestEnd = 0;
          // One array for the seven headers (pushed in place: no call per header).
          const out = (ctx.responseHeaders ??= []);
          for (let i = 0; i < limits.length; i++) {
            const l = limits[i]!;
            let remaining = l.limit - usage[i]!;
            if (stop === -1 || stop === i) remaining -= 1;
            if (remaining < 0) remaining = 0;
            const remainingText = String(remaining);
            if (remaining < bestRemaining || (remaining === bestRemaining && ends[i]! > bestEnd)) {
              bestRemaining = remaining;
              bestRemainingText = remainingText;
              bestLimit = l.limitText;
              bestEnd = ends[i]!;
            }
            out.push(l.limitHeader, l.limitText, l.remainingHeader, remainingText);
          }
          resetS = Math.max(1, Math.ceil((bestEnd - now) / 1000));
          out.push('RateLimit-Limit', bestLimit, 'RateLimit-Remaining', bestRemainingText, 'RateLimit-Reset', String(resetS));
        }
        if (stop !== -1) {
          if (!resetS) resetS = Math.max(1, Math.ceil((ends[stop]! - now) / 1000));
          ctx.exit(conf.error_code, { message: conf.error_message, request_id: ctx.requestId }, ['Retry-After', String(resetS)]);
          return;
        }
        for (let i = 0; i < limits.length; i++) store.incr(keys[i]!, ends[i]!, 1);
    };
    return {
      name: 'rate-limiting',
      access(ctx) {
        if (storeDown(ctx, store, conf.fault_tolerant)) return;
        const id = identifier(ctx);
        if (store.load !== undefined) {
          // A remote store (Redis) may not hold this client's counts here yet: read them first.
          const now = Date.now();
          const wait = store.load(limits.map((l) => {
            const end = windowEnd(l.period, now);
            return [l.prefix + id + ':' + end, end] as [string, number];
          }));
          if (wait !== null) return wait.then(() => decide(ctx, id));
        }
        decide(ctx, id);
      },
    };
  },
};

export default handler;
