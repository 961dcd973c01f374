// Kong's correlation-id: the request keeps the id its client sent in `header_name`, or gets a
// generated one; with echo_downstream the response carries it too (Kong's header_filter).
import type { ProxyContext, ResponseHead } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { CorrelationIdConfig } from './schema.ts';
import { generators } from './generators.ts';
import { setHeader } from '../flat-headers.ts';

const handler: PluginHandler<CorrelationIdConfig> = {
  create(conf): PluginInstance {
    const name = conf.header_name.toLowerCase();
    const generate = generators[conf.generator];
    return {
      name: 'correlation-id',
      access(ctx: ProxyContext) {
        let id = ctx.getRequestHeader(name);
        if (!id) {
          id = generate(ctx);
          ctx.setRequestHeader(name, id);
        }
        // Kong's kong.log.set_serialize_value("correlation_id"): for log plugins. It is also
        // Kong's kong.ctx.plugin.correlation_id that header_filter echoes: only this plugin
        // writes the key, and one instance of it runs per request.
        (ctx.shared ??= {}).correlation_id = id;
      },
      headerFilter: conf.echo_downstream
        ? (ctx: ProxyContext, head: ResponseHead) => {
            // A request answered before this plugin's access ran has no id yet: one is made here.
            const id = (ctx.shared?.['correlation_id'] as string | undefined) || ctx.getRequestHeader(name) || generate(ctx);
            setHeader(head.headers, name, id);
          }
        : undefined,
    };
  },
};

export default handler;
