// Turns a Route into the matchers the router evaluates, split the way Kong 3's
// "traditional_compatible" router splits them (kong/router/compat.lua): one matcher per
// group of paths of the same kind (all regex, or prefixes of one length), each with its own
// 64-bit priority, so a route's regex and prefix paths rank independently.
import type { Route, Service } from '../entities/types.ts';
import { regexPathSource } from '../entities/uri-normalize.ts';

export interface HostRule {
  host: string; // lower-case, no port
  port: number; // 0 = any port
  kind: 'exact' | 'suffix' | 'prefix'; // suffix: "*.example.com", prefix: "example.*"
}

export interface HeaderRule {
  name: string; // lower-case
  values: string[] | null; // lower-cased literal values (Kong compares case-insensitively)
  regex: RegExp | null; // "~*" value
}

export interface PathRule {
  prefix: string | null;
  regex: RegExp | null;
}

export interface CompiledMatcher {
  route: Route;
  service: Service | null;
  hosts: HostRule[] | null;
  methods: Set<string> | null;
  headers: HeaderRule[] | null;
  paths: PathRule[] | null;
  /** Kong's tls.sni rules: checked for https requests only (a plain-HTTP request ignores snis). */
  snis: SniRule[] | null;
  /** Kong's priority fields, most significant first (compat.lua get_priority). */
  priority: [number, number, number, number, number, number];
  /** Position in the global order; lower is tried first. */
  rank: number;
}

const MAX_HEADER_COUNT = 255;

/** `*.x` matches names ending `.x`, `x.*` names starting `x.`, anything else the name itself. */
export interface SniRule {
  op: 'exact' | 'suffix' | 'prefix';
  value: string;
}

/** Kong's sni_op_transform / sni_val_transform (kong/router/transform.lua). */
export function parseSni(sni: string): SniRule {
  const s = sni.toLowerCase();
  if (s.endsWith('*') && !s.startsWith('*')) return { op: 'prefix', value: s.slice(0, -1) };
  // The last dot of a fully qualified name is not used for routing.
  const name = s.length > 1 && s.endsWith('.') ? s.slice(0, -1) : s;
  return name.startsWith('*') ? { op: 'suffix', value: name.slice(1) } : { op: 'exact', value: name };
}

export function isRegexPath(p: string): boolean {
  return p.charCodeAt(0) === 126; // "~"
}

/** Kong regex paths are PCRE anchored at the start of the path; `(?P<n>` is PCRE's named group. */
export function compileRegexPath(p: string): RegExp {
  return new RegExp(regexPathSource(p));
}

function parseHost(h: string): HostRule {
  let host = h.toLowerCase();
  let port = 0;
  const m = /^(.*):(\d+)$/.exec(host);
  if (m && !host.endsWith(']')) {
    host = m[1]!;
    port = Number(m[2]);
  }
  if (host.startsWith('*')) return { host: host.slice(1), port, kind: 'suffix' };
  if (host.endsWith('*')) return { host: host.slice(0, -1), port, kind: 'prefix' };
  return { host, port, kind: 'exact' };
}

function parseHeaders(headers: Record<string, string[]>): HeaderRule[] {
  const out: HeaderRule[] = [];
  for (const [name, values] of Object.entries(headers)) {
    const lits: string[] = [];
    let regex: RegExp | null = null;
    for (const v of values) {
      if (v.startsWith('~*')) regex = new RegExp(v.slice(2), 'i');
      else lits.push(v.toLowerCase());
    }
    out.push({ name: name.toLowerCase(), values: lits.length ? lits : null, regex });
  }
  return out;
}

function groupPaths(paths: string[]): string[][] {
  const regex = paths.filter(isRegexPath);
  const byLen = new Map<number, string[]>();
  for (const p of paths) {
    if (isRegexPath(p)) continue;
    const g = byLen.get(p.length);
    if (g) g.push(p);
    else byLen.set(p.length, [p]);
  }
  const groups = [...byLen.values()];
  if (regex.length) groups.push(regex);
  return groups;
}

export function compileRoute(route: Route, service: Service | null): Omit<CompiledMatcher, 'rank'>[] {
  const nonEmpty = <T>(a: T[] | null | undefined): a is T[] => Array.isArray(a) && a.length > 0;
  const hosts = nonEmpty(route.hosts) ? route.hosts.map(parseHost) : null;
  const methods = nonEmpty(route.methods) ? new Set(route.methods.map((m) => m.toUpperCase())) : null;
  const headerCount = route.headers ? Object.keys(route.headers).length : 0;
  const headers = headerCount ? parseHeaders(route.headers!) : null;
  let weight = 0;
  if (methods) weight++;
  if (hosts) weight++;
  if (headers) weight++;
  if (nonEmpty(route.snis)) weight++;
  const plainHostOnly = hosts !== null && hosts.every((h) => h.kind === 'exact') ? 1 : 0;
  const snis = nonEmpty(route.snis) ? route.snis.map(parseSni) : null;
  const base = { route, service, hosts, methods, headers, snis };
  if (!nonEmpty(route.paths)) {
    return [{ ...base, paths: null, priority: [weight, plainHostOnly, Math.min(headerCount, MAX_HEADER_COUNT), 0, 0, 0] }];
  }
  return groupPaths(route.paths).map((group) => {
    const regex = isRegexPath(group[0]!);
    const paths: PathRule[] = group.map((p) => (regex ? { prefix: null, regex: compileRegexPath(p) } : { prefix: p, regex: null }));
    return {
      ...base,
      paths,
      priority: [
        weight + 1,
        plainHostOnly,
        Math.min(headerCount, MAX_HEADER_COUNT),
        regex ? 1 : 0,
        regex ? route.regex_priority ?? 0 : 0,
        regex ? 0 : group[0]!.length,
      ],
    };
  });
}

/** Kong sorts by priority (descending); equal priorities fall back to creation order, then id. */
export function compareMatchers(a: Omit<CompiledMatcher, 'rank'>, b: Omit<CompiledMatcher, 'rank'>): number {
  for (let i = 0; i < 6; i++) {
    const d = b.priority[i]! - a.priority[i]!;
    if (d !== 0) return d;
  }
  const c = (a.route.created_at ?? 0) - (b.route.created_at ?? 0);
  if (c !== 0) return c;
  return a.route.id < b.route.id ? -1 : a.route.id > b.route.id ? 1 : 0;
}
