// Kong's bot-detection: 403 for a User-Agent on the deny list or matching Kong's bot rules,
// unless the allow list matches it first; 400 for a request with two User-Agent headers.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { repeatedRequestHeader } from '../request-headers.ts';
import type { BotDetectionConfig } from './schema.ts';
import { botMatcher, isRefused } from './matcher.ts';

const handler: PluginHandler<BotDetectionConfig> = {
  create(conf): PluginInstance {
    const match = botMatcher(conf.allow, conf.deny);
    return {
      name: 'bot-detection',
      access(ctx: ProxyContext) {
        if (repeatedRequestHeader(ctx, 'user-agent')) {
          ctx.exit(400, { message: 'Only one User-Agent header allowed', request_id: ctx.requestId });
          return;
        }
        const ua = ctx.getRequestHeader('user-agent');
        if (ua === undefined) return;
        if (isRefused(match(ua))) ctx.exit(403, { message: 'Forbidden', request_id: ctx.requestId });
      },
    };
  },
};

export default handler;
