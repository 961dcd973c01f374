// Request header reads shared by plugins that need Kong's view of repeated headers.
import type { ProxyContext } from '../proxy/context.ts';

/**
 * The first occurrence of a request header (Kong's get_headers()[name][1]), after earlier
 * plugins' edits. Node joins repeated custom headers with ", ", which would glue two values.
 */
export function firstRequestHeader(ctx: ProxyContext, name: string): string | undefined {
  const lower = name.toLowerCase();
  if (ctx.requestHeaderEdits?.has(lower)) return ctx.getRequestHeader(lower);
  // The raw list, as headersDistinct is built from, without building an object of every header
  // to read one (an auth plugin reads its header on every request).
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === lower.length && n.toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}

/** Whether the client sent a header more than once (bot-detection refuses two User-Agents). */
export function repeatedRequestHeader(ctx: ProxyContext, name: string): boolean {
  return (ctx.req.headersDistinct[name]?.length ?? 0) > 1;
}

/** The value of cookie `name` from the Cookie header(s), first occurrence (nginx's $cookie_<name>). */
export function requestCookie(ctx: ProxyContext, name: string): string | undefined {
  const headers = ctx.req.headersDistinct.cookie;
  if (headers === undefined) return undefined;
  for (const header of headers) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    }
  }
  return undefined;
}
