// Kong's request-termination: answer every request (or, with `trigger`, those carrying that
// header or query parameter) with a fixed status and message or body, or an echo of the request.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { RequestTerminationConfig } from './schema.ts';
import { echoBody, queryTable } from './echo.ts';

const DEFAULT_RESPONSE: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
};

const handler: PluginHandler<RequestTerminationConfig> = {
  create(conf): PluginInstance {
    const status = conf.status_code;
    const message = conf.message ?? DEFAULT_RESPONSE[status];
    const trigger = conf.trigger?.toLowerCase() ?? null;
    const triggered = (ctx: ProxyContext) =>
      trigger === null || ctx.getRequestHeader(trigger) !== undefined || Object.hasOwn(queryTable(ctx.query), conf.trigger!);
    return {
      name: 'request-termination',
      // The echo shows the raw body: read it whole first (only for the requests it answers).
      needsBody: conf.echo ? triggered : undefined,
      access(ctx: ProxyContext) {
        if (!triggered(ctx)) return;
        if (conf.echo) return ctx.exit(status, echoBody(ctx, message));
        if (conf.body !== null) {
          // A configured body with its media type goes as it is; without one, typed as JSON.
          if (conf.content_type) return ctx.exitRaw(status, Buffer.from(conf.body), ['content-type', conf.content_type]);
          return ctx.exit(status, conf.body);
        }
        ctx.exit(status, message !== undefined ? { message } : '');
      },
    };
  },
};

export default handler;
