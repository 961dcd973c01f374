// Balancing over one upstream's targets: weighted round-robin (nginx's smooth variant),
// consistent-hashing on a ring of `slots` points, or least-connections. Unhealthy and
// zero-weight targets are skipped; null means "no peer" (Kong's ring-balancer 503).
import type { Target, Upstream } from '../../entities/types.ts';
import type { ProxyContext } from '../context.ts';
import { healthchecksConfig, type HealthchecksConfig } from './healthchecks-config.ts';
import { TargetHealth } from './target-health.ts';

export function parseTarget(t: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(t.trim());
  if (!m) throw new Error(`invalid target '${t}'`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 8000 };
}

/**
 * FNV-1a, 32 bit, finished with murmur3's avalanche: FNV alone maps short, similar keys
 * ('a', 'b', '10.0.0.1', '10.0.0.2') to neighbouring values, i.e. to the same ring arc.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class UpstreamBalancer {
  upstream: Upstream;
  cfg: HealthchecksConfig;
  targets: TargetHealth[] = [];
  private rrCurrent: number[] = [];
  private ringPoints = new Uint32Array(0);
  private ringOwners: TargetHealth[] = [];
  /** Told when a check turns a target healthy or unhealthy (Balancers shares it). */
  onHealthChange: ((t: TargetHealth) => void) | null = null;

  constructor(upstream: Upstream) {
    this.upstream = upstream;
    this.cfg = healthchecksConfig(upstream.healthchecks);
  }

  /** Replace the upstream/targets; keeps the health of targets that stay. */
  update(upstream: Upstream, targets: Target[]): void {
    this.upstream = upstream;
    this.cfg = healthchecksConfig(upstream.healthchecks);
    const old = new Map(this.targets.map((t) => [t.target, t]));
    // Kong: the newest entry for an address wins (targets are append-only history in Kong 2).
    const latest = new Map<string, Target>();
    for (const t of [...targets].sort((a, b) => a.created_at - b.created_at)) latest.set(t.target, t);
    const next: TargetHealth[] = [];
    for (const t of latest.values()) {
      const { host, port } = parseTarget(t.target);
      const key = `${host}:${port}`;
      const prev = old.get(key);
      if (prev) {
        prev.weight = t.weight;
        next.push(prev);
      } else next.push(new TargetHealth(key, host, port, t.weight));
    }
    this.targets = next;
    this.rrCurrent = next.map(() => 0);
    if (upstream.algorithm === 'consistent-hashing') this.buildRing();
  }

  private buildRing(): void {
    const live = this.targets.filter((t) => t.weight > 0);
    const total = live.reduce((s, t) => s + t.weight, 0);
    const slots = Math.max(this.upstream.slots || 10000, live.length);
    const pts: { h: number; t: TargetHealth }[] = [];
    for (const t of live) {
      const n = Math.max(1, Math.round((slots * t.weight) / total));
      for (let i = 0; i < n; i++) pts.push({ h: hash32(`${t.target}#${i}`), t });
    }
    pts.sort((a, b) => a.h - b.h);
    this.ringPoints = Uint32Array.from(pts.map((p) => p.h));
    this.ringOwners = pts.map((p) => p.t);
  }

  pick(ctx: ProxyContext | null, exclude: TargetHealth | null): TargetHealth | null {
    const alg = this.upstream.algorithm;
    if (alg === 'consistent-hashing' && ctx) {
      const u = this.upstream;
      const key =
        this.hashKey(ctx, u.hash_on, u.hash_on_header, u.hash_on_cookie, u.hash_on_query_arg ?? null, u.hash_on_uri_capture ?? null) ??
        this.hashKey(ctx, u.hash_fallback, u.hash_fallback_header, null, u.hash_fallback_query_arg ?? null, u.hash_fallback_uri_capture ?? null);
      if (key !== null) return this.pickRing(hash32(key), exclude);
    }
    if (alg === 'least-connections') return this.pickLeast(exclude);
    return this.pickRoundRobin(exclude);
  }

  private hashKey(
    ctx: ProxyContext,
    on: Upstream['hash_on'],
    header: string | null,
    cookie: string | null,
    queryArg: string | null,
    uriCapture: string | null,
  ): string | null {
    switch (on) {
      case 'consumer':
        return ctx.consumer?.id ?? ctx.credential?.id ?? null;
      case 'ip':
        return ctx.clientIp;
      case 'header':
        return header ? ctx.getRequestHeader(header.toLowerCase()) ?? null : null;
      case 'cookie': {
        if (!cookie) return null;
        const raw = ctx.req.headers.cookie;
        const m = raw ? new RegExp(`(?:^|;\\s*)${cookie.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=([^;]*)`).exec(raw) : null;
        if (m) return m[1]!;
        // Kong hands out the cookie so that the client sticks from its next request on.
        const v = ctx.requestId;
        ctx.addResponseHeader('set-cookie', `${cookie}=${v}; Path=${this.upstream.hash_on_cookie_path || '/'}`);
        return v;
      }
      case 'path':
        return ctx.path;
      case 'query_arg': {
        if (!queryArg || ctx.query === '') return null;
        // A repeated argument hashes as its sorted values, so ?a=1&a=2 and ?a=2&a=1 stick together.
        const vals = new URLSearchParams(ctx.query).getAll(queryArg);
        if (vals.length === 0) return null;
        const v = vals.length === 1 ? vals[0]! : vals.sort().join(',');
        return v === '' ? null : v;
      }
      case 'uri_capture': {
        const caps = ctx.captures;
        if (!uriCapture || caps === null) return null;
        const v = /^\d+$/.test(uriCapture) ? caps[Number(uriCapture)] : caps.groups?.[uriCapture];
        return v ? v : null;
      }
      default:
        return null;
    }
  }

  private usable(t: TargetHealth, exclude: TargetHealth | null): boolean {
    return t.weight > 0 && t.healthy && t !== exclude;
  }

  private pickRing(h: number, exclude: TargetHealth | null): TargetHealth | null {
    const pts = this.ringPoints;
    const n = pts.length;
    if (n === 0) return null;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pts[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < n; i++) {
      const t = this.ringOwners[(lo + i) % n]!;
      if (this.usable(t, exclude)) return t;
    }
    return exclude && this.usable(exclude, null) ? exclude : null;
  }

  private pickRoundRobin(exclude: TargetHealth | null): TargetHealth | null {
    const ts = this.targets;
    let total = 0;
    let best = -1;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (!this.usable(t, exclude)) continue;
      this.rrCurrent[i]! += t.weight;
      total += t.weight;
      if (best === -1 || this.rrCurrent[i]! > this.rrCurrent[best]!) best = i;
    }
    if (best === -1) return exclude && this.usable(exclude, null) ? exclude : null;
    this.rrCurrent[best]! -= total;
    return ts[best]!;
  }

  private pickLeast(exclude: TargetHealth | null): TargetHealth | null {
    let best: TargetHealth | null = null;
    let bestScore = Infinity;
    for (const t of this.targets) {
      if (!this.usable(t, exclude)) continue;
      const score = (t.active + 1) / t.weight;
      if (score < bestScore) (best = t), (bestScore = score);
    }
    return best ?? (exclude && this.usable(exclude, null) ? exclude : null);
  }

  /** Passive health check: one proxied response or failure. */
  reportStatus(t: TargetHealth, status: number): void {
    const p = this.cfg.passive;
    let changed = false;
    if (p.unhealthy.http_statuses.includes(status)) changed = t.record('http_failure', p);
    else if (p.healthy.http_statuses.includes(status)) changed = t.record('success', p);
    if (changed) this.onHealthChange?.(t);
  }

  reportError(t: TargetHealth, kind: 'tcp_failure' | 'timeout'): void {
    if (t.record(kind, this.cfg.passive)) this.onHealthChange?.(t);
  }
}
