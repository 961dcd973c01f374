// Kong's response-transformer: headers (remove, rename, replace, add, append in Kong's order)
// and JSON bodies (json-body.ts). A JSON rewrite makes the relay hold that answer until it is
// complete and send it with a new Content-Length; other answers keep streaming.
import type { ResponseHead } from '../../proxy/context.ts';
import { splitPair } from '../request-transformer/pairs.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { headerValue, indexOfHeader, removeHeader } from '../flat-headers.ts';
import { isJsonContentType, jsonBodyTransform } from './json-body.ts';
import type { ResponseTransformerConfig } from './schema.ts';

const handler: PluginHandler<ResponseTransformerConfig> = {
  create(conf): PluginInstance {
    const pairs = (l: string[]) => l.map(splitPair).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    const remove = conf.remove.headers.map((n) => n.toLowerCase());
    const rename = pairs(conf.rename.headers);
    const replace = pairs(conf.replace.headers);
    const add = pairs(conf.add.headers);
    const append = pairs(conf.append.headers);
    const json = jsonBodyTransform(conf);
    return {
      name: 'response-transformer',
      headerFilter(ctx, head: ResponseHead) {
        const h = head.headers;
        for (const n of remove) removeHeader(h, n);
        for (const [from, to] of rename) for (const v of removeHeader(h, from)) h.push(to, v);
        for (const [n, v] of replace) if (indexOfHeader(h, n) !== -1) (removeHeader(h, n), h.push(n, v));
        for (const [n, v] of add) if (indexOfHeader(h, n) === -1) h.push(n, v);
        for (const [n, v] of append) h.push(n, v);
        if (json !== null) {
          const type = headerValue(h, 'content-type');
          if (isJsonContentType(type)) {
            const encoding = headerValue(h, 'content-encoding')?.trim().toLowerCase();
            // Another encoding (br, deflate...) cannot be rewritten here: left as it came.
            if (encoding === undefined || encoding === 'identity' || encoding === 'gzip') (ctx.responseBodyTransforms ??= []).push(json(encoding === 'gzip'));
          }
        }
      },
    };
  },
};

export default handler;
