// Kong's request-size-limiting: a declared Content-Length over the limit is refused at once;
// a chunked body is counted while it streams and cut off with 413 when it crosses the limit.
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { RequestSizeLimitingConfig } from './schema.ts';

const UNIT = { megabytes: 1024 * 1024, kilobytes: 1024, bytes: 1 } as const;

const handler: PluginHandler<RequestSizeLimitingConfig> = {
  create(conf): PluginInstance {
    const max = conf.allowed_payload_size * UNIT[conf.size_unit];
    return {
      name: 'request-size-limiting',
      access(ctx) {
        const cl = ctx.req.headers['content-length'];
        if (cl !== undefined) {
          if (Number(cl) > max) ctx.exit(413, { message: 'Request size limit exceeded', request_id: ctx.requestId });
          return;
        }
        if (ctx.req.headers['transfer-encoding'] === undefined) return; // no body
        if (conf.require_content_length) {
          ctx.exit(411, { message: 'A valid Content-Length header is required', request_id: ctx.requestId });
          return;
        }
        // nginx_http_client_max_body_size may already be lower.
        ctx.requestBodyLimit = ctx.requestBodyLimit > 0 ? Math.min(ctx.requestBodyLimit, max) : max;
      },
    };
  },
};

export default handler;
