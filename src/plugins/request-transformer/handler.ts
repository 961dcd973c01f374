// Kong's request-transformer for headers, query string, URI, method and body, applied in
// Kong's order: remove, rename, replace, add, append. A body rewrite (body.ts) makes the
// forwarder read that request's body whole; requests it does not apply to keep streaming.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import { requestBodyTransforms } from './body.ts';
import { splitPair } from './pairs.ts';
import { compileTemplate, render, type Tpl } from './template.ts';
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
    const pairs = (l: string[]) => l.map(splitPair).map(([k, v]) => [k.toLowerCase(), compileTemplate(v)] as [string, Tpl]);
    const qpairs = (l: string[]) => l.map(splitPair).map(([k, v]) => [k, compileTemplate(v)] as [string, Tpl]);
    const h = {
      remove: lower(conf.remove.headers),
      rename: conf.rename.headers.map(splitPair).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as [string, string]),
      replace: pairs(conf.replace.headers),
      add: pairs(conf.add.headers),
      append: pairs(conf.append.headers),
    };
    const q = {
      remove: conf.remove.querystring,
      rename: conf.rename.querystring.map(splitPair),
      replace: qpairs(conf.replace.querystring),
      add: qpairs(conf.add.querystring),
      append: qpairs(conf.append.querystring),
    };
    const touchesQuery = q.remove.length + q.rename.length + q.replace.length + q.add.length + q.append.length > 0;
    const bodyFor = requestBodyTransforms(conf);
    const uri = conf.replace.uri ? compileTemplate(conf.replace.uri) : null;
    const bodyToQuery = conf.http_method === 'GET' || conf.http_method === 'HEAD' || conf.http_method === 'TRACE';
    const queryEdits = (_body: Buffer, ctx: ProxyContext): null => {
      const p = new URLSearchParams(ctx.query);
      for (const n of q.remove) p.delete(n);
      for (const [from, to] of q.rename) {
        const vals = p.getAll(from);
        if (vals.length) {
          p.delete(from);
          for (const v of vals) p.append(to, v);
        }
      }
      for (const [n, v] of q.replace) if (p.has(n)) p.set(n, render(v, ctx));
      for (const [n, v] of q.add) if (!p.has(n)) p.set(n, render(v, ctx));
      for (const [n, v] of q.append) p.append(n, render(v, ctx));
      ctx.query = p.toString();
      return null;
    };
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
        for (const [n, v] of h.replace) if (headerValues(ctx, n)) ctx.setRequestHeader(n, render(v, ctx));
        for (const [n, v] of h.add) if (!headerValues(ctx, n)) ctx.setRequestHeader(n, render(v, ctx));
        for (const [n, v] of h.append) ctx.setRequestHeader(n, [...(headerValues(ctx, n) ?? []), render(v, ctx)]);
        if (bodyFor !== null) {
          // After the header edits, as Kong: the Content-Type they leave decides.
          const t = bodyFor(ctx.getRequestHeader('content-type'));
          if (t !== null) (ctx.requestBodyTransforms ??= []).push(t);
        }
        if (bodyToQuery && isForm(ctx.getRequestHeader('content-type'))) {
          // Kong: a form body's arguments join the query string of a request turned into a
          // GET/HEAD/TRACE, before the query string edits; so those wait for the body too.
          const list = (ctx.requestBodyTransforms ??= []);
          list.unshift(mergeFormIntoQuery);
          if (touchesQuery) list.push(queryEdits);
        } else if (touchesQuery) queryEdits(EMPTY, ctx);
        if (uri !== null) ctx.upstreamPath = render(uri, ctx);
      },
    };
  },
};

const EMPTY = Buffer.alloc(0);

function isForm(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().includes('application/x-www-form-urlencoded');
}

/** The form body's arguments appended to the query string; the body itself is kept. */
function mergeFormIntoQuery(body: Buffer, ctx: ProxyContext): null {
  if (body.length === 0) return null;
  const p = new URLSearchParams(ctx.query);
  for (const [k, v] of new URLSearchParams(body.toString('latin1'))) p.append(k, v);
  ctx.query = p.toString();
  return null;
}

export default handler;
