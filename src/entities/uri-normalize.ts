// Kong matches routes against a normalized path (kong/tools/uri.lua normalize): percent-
// encoded unreserved characters decoded, dot segments removed, and (nginx merge_slashes)
// runs of '/' merged; and it refuses a route path not in that form (typedefs.router_path).
// Shared by the route schema and the proxy. Most paths need none of it, so the common case
// returns the input untouched.
const UNRESERVED = /%(2[DdEe]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])/g;

export function normalizePath(p: string): string {
  if (p.indexOf('%') === -1 && p.indexOf('/.') === -1 && p.indexOf('//') === -1) return p;
  let out = p.indexOf('%') === -1 ? p : p.replace(UNRESERVED, (m) => String.fromCharCode(parseInt(m.slice(1), 16)));
  if (out.indexOf('//') !== -1) out = out.replace(/\/{2,}/g, '/');
  if (out.indexOf('/.') !== -1) out = removeDotSegments(out);
  return out;
}

function removeDotSegments(p: string): string {
  const segs = p.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (s === '..') {
      out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

/** A Kong regex path (`~/...`, PCRE) as a JavaScript RegExp source, anchored at the start. */
export function regexPathSource(p: string): string {
  const src = p.slice(1).replace(/\(\?P</g, '(?<');
  return src.startsWith('^') ? src : '^' + src;
}
