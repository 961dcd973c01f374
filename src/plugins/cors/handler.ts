// Kong's cors: answers preflights itself (unless preflight_continue) and adds the
// Access-Control-* headers to every other response.
import type { ProxyContext, ResponseHead } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { CorsConfig } from './schema.ts';

function isRegexOrigin(o: string): boolean {
  return /[\^$*+?()[\]{}|\\]/.test(o.replace(/\./g, ''));
}

const handler: PluginHandler<CorsConfig> = {
  create(conf): PluginInstance {
    const origins = conf.origins ?? [];
    const any = origins.length === 0 || origins.includes('*');
    const matchers = origins.filter((o) => o !== '*').map((o) => (isRegexOrigin(o) ? new RegExp(`^${o}$`) : o));
    const allowOrigin = (ctx: ProxyContext): string | null => {
      const reqOrigin = ctx.getRequestHeader('origin');
      if (any) return conf.credentials && reqOrigin ? reqOrigin : '*';
      // One literal origin: Kong always answers with it and lets the browser decide.
      if (matchers.length === 1 && typeof matchers[0] === 'string') return matchers[0];
      if (!reqOrigin) return null;
      for (const m of matchers) if (typeof m === 'string' ? m === reqOrigin : m.test(reqOrigin)) return reqOrigin;
      return null;
    };
    const addCommon = (ctx: ProxyContext, out: string[]): void => {
      const o = allowOrigin(ctx);
      if (o) out.push('access-control-allow-origin', o);
      if (o && o !== '*') out.push('vary', 'Origin');
      if (conf.credentials) out.push('access-control-allow-credentials', 'true');
    };
    return {
      name: 'cors',
      access(ctx) {
        if (ctx.method !== 'OPTIONS' || !ctx.getRequestHeader('access-control-request-method')) return;
        if (conf.preflight_continue) return;
        const h: string[] = [];
        addCommon(ctx, h);
        const allowHeaders = conf.headers?.join(',') ?? ctx.getRequestHeader('access-control-request-headers');
        if (allowHeaders) h.push('access-control-allow-headers', allowHeaders);
        h.push('access-control-allow-methods', conf.methods.join(','));
        if (conf.max_age !== null) h.push('access-control-max-age', String(conf.max_age));
        if (conf.private_network && ctx.getRequestHeader('access-control-request-private-network') === 'true') {
          h.push('access-control-allow-private-network', 'true');
        }
        ctx.exit(200, '', h);
        ctx.shared = { ...(ctx.shared ?? {}), corsPreflight: true };
      },
      headerFilter(ctx, head: ResponseHead) {
        if (ctx.shared?.corsPreflight) return;
        addCommon(ctx, head.headers);
        if (conf.exposed_headers) head.headers.push('access-control-expose-headers', conf.exposed_headers.join(','));
      },
    };
  },
};

export default handler;
