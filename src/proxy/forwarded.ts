// The X-Forwarded-* and X-Real-IP headers an upstream gets, as Kong's access phase sets them
// (kong/runloop/handler.lua): a trusted peer's own X-Forwarded-Proto/Host/Port/Path/Prefix
// are kept, anyone else's replaced; X-Forwarded-For appends the peer that connected.
import type { ProxyContext } from './context.ts';

function header(ctx: ProxyContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The scheme Kong acts on (an https-only route, X-Forwarded-Proto): a trusted peer's header wins. */
export function forwardedProto(ctx: ProxyContext): string {
  const scheme = ctx.https ? 'https' : 'http';
  return ctx.trustedPeer ? (header(ctx, 'x-forwarded-proto') ?? scheme) : scheme;
}

/** The host clients asked for, without its port (nginx's $host); a trusted peer's X-Forwarded-Host wins. */
export function forwardedHost(ctx: ProxyContext): string {
  if (ctx.trustedPeer) {
    const h = header(ctx, 'x-forwarded-host');
    if (h !== undefined) return h;
  }
  const hh = ctx.hostHeader;
  const colon = hh.lastIndexOf(':');
  return colon > 0 && hh.charCodeAt(hh.length - 1) !== 93 ? hh.slice(0, colon) : hh;
}

/** Appends the forwarding headers to a flat [name, value...] list. */
export function pushForwarded(ctx: ProxyContext, out: string[]): void {
  const xff = header(ctx, 'x-forwarded-for');
  out.push(
    'x-forwarded-for', xff ? xff + ', ' + ctx.peerIp : ctx.clientIp,
    'x-forwarded-proto', forwardedProto(ctx),
    'x-forwarded-host', forwardedHost(ctx),
    'x-forwarded-port', (ctx.trustedPeer ? header(ctx, 'x-forwarded-port') : undefined) ?? String(ctx.listenPort),
    'x-forwarded-path', (ctx.trustedPeer ? header(ctx, 'x-forwarded-path') : undefined) ?? ctx.rawPath,
    'x-real-ip', ctx.clientIp,
  );
  const kept = ctx.trustedPeer ? header(ctx, 'x-forwarded-prefix') : undefined;
  if (kept !== undefined) out.push('x-forwarded-prefix', kept);
  // Kong: no prefix header when the prefix stripped was the root itself.
  else if (ctx.strippedPrefix !== null && ctx.strippedPrefix !== '/') out.push('x-forwarded-prefix', ctx.strippedPrefix);
}
