// Kong's kong.tools.http parse_directive_header / calculate_resource_ttl and its mime-type
// match, as proxy-cache uses them.

export type Directives = Record<string, string | number | true>;

/** `no-cache, max-age=60` → { 'no-cache': true, 'max-age': 60 }. */
export function parseDirectives(h: string | string[] | undefined): Directives {
  if (h === undefined) return {};
  const text = Array.isArray(h) ? h.join(', ') : h;
  const out: Directives = {};
  for (const part of text.split(',')) {
    const m = /^\s*([^=]+?)\s*(?:=(.+))?$/.exec(part);
    if (!m || !m[1]) continue;
    const raw = m[2]?.trim().replace(/^"(.*)"$/, '$1');
    const num = raw !== undefined && raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : undefined;
    out[m[1].toLowerCase()] = num ?? raw ?? true;
  }
  return out;
}

/** Seconds a response may be cached: s-maxage, max-age, else Expires; never negative. */
export function resourceTtl(cc: Directives, expires: string | undefined, nowS: number): number {
  let maxAge = typeof cc['s-maxage'] === 'number' ? cc['s-maxage'] : typeof cc['max-age'] === 'number' ? cc['max-age'] : undefined;
  if (maxAge === undefined && expires !== undefined) {
    const t = Date.parse(expires);
    if (!Number.isNaN(t)) maxAge = Math.floor(t / 1000) - nowS;
  }
  return maxAge !== undefined ? Math.max(maxAge, 0) : 0;
}

interface Mime {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

function parseMime(s: string): Mime | null {
  const [main, ...rest] = s.split(';');
  const m = /^\s*([^/\s]+)\/([^/\s]+)\s*$/.exec(main ?? '');
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params };
}

/** Kong's content_type match: type and subtype (or `*`), and exactly the same parameters. */
export function contentTypeMatches(actual: string | undefined, expected: readonly string[]): boolean {
  if (!actual) return false;
  const a = parseMime(actual);
  if (!a) return false;
  return expected.some((e) => {
    const x = parseMime(e);
    if (!x) return false;
    if (!(x.type === '*' || x.type === a.type) || !(x.subtype === '*' || x.subtype === a.subtype)) return false;
    const xk = Object.keys(x.params);
    return xk.length === Object.keys(a.params).length && xk.every((k) => a.params[k] === x.params[k]);
  });
}
