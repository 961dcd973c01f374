// Kong's joining of the service path and the request path (kong/router/utils.lua
// get_upstream_uri_v0 / v1). `postfix` is what is left of the request path after the
// matched part when strip_path is on. Kept literal so Kong's documented table holds.

export function upstreamPathV0(stripPath: boolean, postfix: string, reqPath: string, base: string): string {
  if (base.charCodeAt(base.length - 1) === 47 /* / */) {
    if (stripPath) {
      if (postfix === '') {
        if (base === '/') return '/';
        return reqPath.charCodeAt(reqPath.length - 1) === 47 ? base : base.slice(0, -1);
      }
      if (postfix.charCodeAt(0) === 47) return base.slice(0, -1) + postfix;
      return base + postfix;
    }
    return base + reqPath.slice(1);
  }
  if (stripPath) {
    if (postfix === '') {
      return reqPath.length > 1 && reqPath.charCodeAt(reqPath.length - 1) === 47 ? base + '/' : base;
    }
    if (postfix.charCodeAt(0) === 47) return base + postfix;
    return base + '/' + postfix;
  }
  return reqPath === '/' ? base : base + reqPath;
}

export function upstreamPathV1(stripPath: boolean, postfix: string, reqPath: string, base: string): string {
  const baseSlash = base.charCodeAt(base.length - 1) === 47;
  if (stripPath) {
    if (baseSlash && postfix.charCodeAt(0) === 47) return base.slice(0, -1) + postfix;
    return base + postfix;
  }
  return baseSlash ? base + reqPath.slice(1) : base + reqPath;
}
