// Kong's request-transformer templates: a value may hold `$(headers.x_user)`,
// `$(headers["x-user"])`, `$(query_params.page)`, `$(uri_captures.name)` / `$(uri_captures[1])`
// or `$(shared.key)`, optionally `... or "default"`. Kong evaluates them as sandboxed Lua;
// these forms are what its documentation shows. The environment is the request as the client
// sent it. Anything else stays as written.
import type { ProxyContext } from '../../proxy/context.ts';

/** A constant, or a function of the request. */
export type Tpl = string | ((ctx: ProxyContext) => string);

type Source = 'headers' | 'query_params' | 'uri_captures' | 'shared';
const EXPR = /^\s*(headers|query_params|uri_captures|shared)\s*(?:\.([A-Za-z_][\w-]*)|\[\s*(?:"([^"]*)"|'([^']*)'|(\d+))\s*\])\s*(?:or\s+(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?)))?\s*$/;

function lookup(ctx: ProxyContext, source: Source, key: string, dotted: boolean): string | undefined {
  switch (source) {
    case 'headers': {
      const h = ctx.req.headers;
      const name = key.toLowerCase();
      // ngx.req.get_headers() also answers headers.x_user for X-User
      const v = h[name] ?? (dotted ? h[name.replace(/_/g, '-')] : undefined);
      return Array.isArray(v) ? v.join(', ') : v;
    }
    case 'query_params': {
      const all = new URLSearchParams(ctx.query).getAll(key);
      return all.length ? all.join(', ') : undefined;
    }
    case 'uri_captures': {
      const caps = ctx.captures;
      if (!caps) return undefined;
      return /^\d+$/.test(key) ? caps[Number(key)] : caps.groups?.[key];
    }
    case 'shared': {
      const v = ctx.shared?.[key];
      return v === undefined || v === null ? undefined : String(v);
    }
  }
}

export function compileTemplate(src: string): Tpl {
  if (!src.includes('$(')) return src;
  const parts: Tpl[] = [];
  let last = 0;
  for (const m of src.matchAll(/\$\(([^)]*)\)/g)) {
    const e = EXPR.exec(m[1]!);
    if (!e) continue;
    if (m.index > last) parts.push(src.slice(last, m.index));
    const source = e[1] as Source;
    const dotted = e[2] !== undefined;
    const key = e[2] ?? e[3] ?? e[4] ?? e[5]!;
    const fallback = e[6] ?? e[7] ?? e[8] ?? '';
    parts.push((ctx) => lookup(ctx, source, key, dotted) ?? fallback);
    last = m.index + m[0].length;
  }
  if (last === 0) return src;
  if (last < src.length) parts.push(src.slice(last));
  return (ctx) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(ctx);
    return out;
  };
}

export function render(t: Tpl, ctx: ProxyContext): string {
  return typeof t === 'string' ? t : t(ctx);
}
