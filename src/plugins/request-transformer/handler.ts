// Kong's request-transformer for headers, query string, URI, method and body, applied in
// Kong's order: remove, rename, replace, add, append. A body rewrite (body.ts) makes the
// forwarder read that request's body whole; requests it does not apply to keep streaming.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { requestBodyTransforms } from './body.ts';
import { splitPair } from './pairs.ts';
import type { RequestTransformerConfig } from './schema.ts';

function headerValues(ctx: ProxyContext, name: string): string[] | null {
  const edits = ctx.requestHeaderEdits;
  if (edits?.has(name)) {
    const v = edits.get(name);
    return v === null || v === undefined ? null : Array.isArray(v) ? v : [v];
  }
  const raw = ctx.req.headers[name];
  return raw === undefined ? null : Array.isArray(raw) ? raw : [raw];
}

const handler: PluginHandler<RequestTransformerConfig> = {
  create(conf): PluginInstance {
    const lower = (l: string[]) => l.map((h) => h.toLowerCase());
    const pairs = (l: string[]) => l.map(splitPair).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    const h = {
      remove: lower(conf.remove.headers),
      rename: pairs(conf.rename.headers),
      replace: pairs(conf.replace.headers),
      add: pairs(conf.add.headers),
      append: pairs(conf.append.headers),
    };
    const q = {
      remove: conf.remove.querystring,
      rename: conf.rename.querystring.map(splitPair),
      replace: conf.replace.querystring.map(splitPair),
      add: conf.add.querystring.map(splitPair),
      append: conf.append.querystring.map(splitPair),
    };
    const touchesQuery = q.remove.length + q.rename.length + q.replace.length + q.add.length + q.append.length > 0;
    const bodyFor = requestBodyTransforms(conf);
    return {
      name: 'request-transformer',
      access(ctx) {
        if (conf.http_method) ctx.upstreamMethod = conf.http_method;
        for (const n of h.remove) ctx.removeRequestHeader(n);
        for (const [from, to] of h.rename) {
          const v = headerValues(ctx, from);
          if (v) {
            ctx.removeRequestHeader(from);
            ctx.setRequestHeader(to, v);
          }
        }
        for (const [n, v] of h.replace) if (headerValues(ctx, n)) ctx.setRequestHeader(n, v);
        for (const [n, v] of h.add) if (!headerValues(ctx, n)) ctx.setRequestHeader(n, v);
        for (const [n, v] of h.append) ctx.setRequestHeader(n, [...(headerValues(ctx, n) ?? []), v]);
        if (bodyFor !== null) {
          // After the header edits, as Kong: the Content-Type they leave decides.
          const t = bodyFor(ctx.getRequestHeader('content-type'));
          if (t !== null) (ctx.requestBodyTransforms ??= []).push(t);
        }
        if (touchesQuery) {
          const p = new URLSearchParams(ctx.query);
          for (const n of q.remove) p.delete(n);
          for (const [from, to] of q.rename) {
            const vals = p.getAll(from);
            if (vals.length) {
              p.delete(from);
              for (const v of vals) p.append(to, v);
            }
          }
          for (const [n, v] of q.replace) if (p.has(n)) p.set(n, v);
          for (const [n, v] of q.add) if (!p.has(n)) p.set(n, v);
          for (const [n, v] of q.append) p.append(n, v);
          ctx.query = p.toString();
        }
        if (conf.replace.uri) ctx.upstreamPath = renderUri(conf.replace.uri, ctx);
      },
    };
  },
};

/** Kong templates `$(uri_captures.name)` / `$(uri_captures[1])` in replace.uri. */
function renderUri(tpl: string, ctx: ProxyContext): string {
  const caps = ctx.captures;
  return tpl.replace(/\$\(uri_captures(?:\.(\w+)|\[["']?(\w+)["']?\])\)/g, (_m, a: string | undefined, b: string | undefined) => {
    const key = a ?? b!;
    if (!caps) return '';
    const v = /^\d+$/.test(key) ? caps[Number(key)] : caps.groups?.[key];
    return v ?? '';
  });
}

export default handler;
