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
    /** Kong's kong.ctx.plugin.correlation_id: this instance's id for a request. */
    const ids = new WeakMap<ProxyContext, string>();
    return {
      name: 'correlation-id',
      access(ctx: ProxyContext) {
        let id = ctx.getRequestHeader(name);
        if (!id) {
          id = generate(ctx);
          ctx.setRequestHeader(name, id);
        }
        // Kong's kong.log.set_serialize_value("correlation_id"): for log plugins.
        (ctx.shared ??= {}).correlation_id = id;
        if (conf.echo_downstream) ids.set(ctx, id);
      },
      headerFilter: conf.echo_downstream
        ? (ctx: ProxyContext, head: ResponseHead) => {
            // A request answered before this plugin's access ran has no id yet: one is made here.
            const id = ids.get(ctx) || ctx.getRequestHeader(name) || generate(ctx);
            setHeader(head.headers, name, id);
          }
        : undefined,
    };
  },
};

export default handler;
