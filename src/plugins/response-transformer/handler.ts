// Kong's response-transformer for headers (remove, rename, replace, add, append in Kong's
// order). JSON body transforms need a buffered body and are not applied by this streaming proxy.
import type { ResponseHead } from '../../proxy/context.ts';
import { splitPair } from '../request-transformer/handler.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { ResponseTransformerConfig } from './schema.ts';

function indexOfHeader(h: string[], name: string): number {
  for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === name) return i;
  return -1;
}

function removeHeader(h: string[], name: string): string[] {
  const vals: string[] = [];
  for (let i = h.length - 2; i >= 0; i -= 2) {
    if (h[i]!.toLowerCase() === name) {
      vals.unshift(h[i + 1]!);
      h.splice(i, 2);
    }
  }
  return vals;
}

const handler: PluginHandler<ResponseTransformerConfig> = {
  create(conf): PluginInstance {
    const pairs = (l: string[]) => l.map(splitPair).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    const remove = conf.remove.headers.map((n) => n.toLowerCase());
    const rename = pairs(conf.rename.headers);
    const replace = pairs(conf.replace.headers);
    const add = pairs(conf.add.headers);
    const append = pairs(conf.append.headers);
    return {
      name: 'response-transformer',
      headerFilter(_ctx, head: ResponseHead) {
        const h = head.headers;
        for (const n of remove) removeHeader(h, n);
        for (const [from, to] of rename) for (const v of removeHeader(h, from)) h.push(to, v);
        for (const [n, v] of replace) if (indexOfHeader(h, n) !== -1) (removeHeader(h, n), h.push(n, v));
        for (const [n, v] of add) if (indexOfHeader(h, n) === -1) h.push(n, v);
        for (const [n, v] of append) h.push(n, v);
      },
    };
  },
};

export default handler;
