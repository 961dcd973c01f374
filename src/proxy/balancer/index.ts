// Where a request goes: the service's host is either an upstream name (balanced over its
// healthy targets) or a hostname/IP (resolved through the DNS cache). Health state lives
// across configuration rebuilds, keyed by upstream id and target address. With proxy workers
// the node's primary runs the active checks once (node-health.ts) and hands every verdict, its
// own and each worker's passive ones, to every worker (applyHealth), as Kong's workers share
// one health table.
import type { Pool } from 'undici';
import type { Service, Target, Upstream } from '../../entities/types.ts';
import type { EntityStore } from '../../cache/entity-store.ts';
import type { ProxyContext } from '../context.ts';
import { ActiveChecker } from './active-checks.ts';
import { DnsCache } from './dns-cache.ts';
import type { TargetHealth } from './target-health.ts';
import { UpstreamBalancer } from './upstream-balancer.ts';

export { UpstreamBalancer } from './upstream-balancer.ts';
export { TargetHealth } from './target-health.ts';

export interface Peer {
  host: string;
  port: number;
  /** undici pool origin, `http(s)://host:port`. */
  origin: string;
  /** The Host header undici sends for this origin when given none (no default port). */
  authority: string;
  /** Service protocol https/wss: TLS to the upstream. */
  tls: boolean;
  /** The forwarder's pool for this peer, cached to skip the pool-map lookup per request. */
  pool: Pool | null;
  poolConnectTimeout: number;
  health: TargetHealth | null;
  balancer: UpstreamBalancer | null;
}

/** One target's health verdict, as the primary sends it to its workers. */
export interface HealthReport {
  upstream: string;
  /** `host:port` of the target. */
  target: string;
  healthy: boolean;
}

export class Balancers {
  private readonly byId = new Map<string, { balancer: UpstreamBalancer; checker: ActiveChecker; hc: string }>();
  private readonly byName = new Map<string, UpstreamBalancer>();
  private readonly peers = new Map<string, Peer>();
  private readonly targetPeers = new WeakMap<TargetHealth, Peer>();
  /** Services whose host is an IP literal: their one peer (a changed service is a new object). */
  private readonly literalPeers = new WeakMap<Service, Peer>();
  readonly dns = new DnsCache();
  private activeChecks = true;
  /** Verdicts received from elsewhere, kept for targets this configuration does not have yet. */
  private readonly remote = new Map<string, boolean>();
  /** Told when a check here turns a target healthy or unhealthy. */
  onHealthChange: ((r: HealthReport) => void) | null = null;

  /** Sync with the store's upstreams and targets. */
  rebuild(store: EntityStore): void {
    this.rebuildFrom(store.all('upstreams'), store.all('targets'));
  }

  /** Off: this process only applies verdicts it is given (applyHealth) and probes nothing. */
  runActiveChecks(on: boolean): void {
    this.activeChecks = on;
    for (const e of this.byId.values()) {
      if (on) e.checker.start();
      else e.checker.stop();
    }
  }

  applyHealth(reports: HealthReport[]): void {
    for (const r of reports) {
      this.remote.set(r.upstream + ' ' + r.target, r.healthy);
      const t = this.byId.get(r.upstream)?.balancer.targets.find((x) => x.target === r.target);
      t?.set(r.healthy);
    }
  }

  /** Every target's current verdict (a restarted worker starts from these). */
  healthReports(): HealthReport[] {
    const out: HealthReport[] = [];
    for (const [id, e] of this.byId) for (const t of e.balancer.targets) out.push({ upstream: id, target: t.target, healthy: t.healthy });
    return out;
  }

  rebuildFrom(upstreams: Iterable<Upstream>, targets: Iterable<Target>): void {
    const targetsBy = new Map<string, Target[]>();
    for (const t of targets) {
      const list = targetsBy.get(t.upstream.id);
      if (list) list.push(t);
      else targetsBy.set(t.upstream.id, [t]);
    }
    const seen = new Set<string>();
    this.byName.clear();
    for (const u of upstreams) {
      seen.add(u.id);
      let e = this.byId.get(u.id);
      if (!e) {
        const balancer = new UpstreamBalancer(u);
        const id = u.id;
        balancer.onHealthChange = (t) => this.onHealthChange?.({ upstream: id, target: t.target, healthy: t.healthy });
        e = { balancer, checker: new ActiveChecker(balancer), hc: '' };
        this.byId.set(u.id, e);
      }
      e.balancer.update(u, targetsBy.get(u.id) ?? []);
      if (this.remote.size) {
        for (const t of e.balancer.targets) {
          const h = this.remote.get(u.id + ' ' + t.target);
          if (h !== undefined) t.set(h);
        }
      }
      const hc = JSON.stringify(e.balancer.cfg.active);
      if (hc !== e.hc) {
        e.hc = hc;
        if (this.activeChecks) e.checker.start();
      }
      this.byName.set(u.name, e.balancer);
    }
    for (const [id, e] of this.byId) {
      if (seen.has(id)) continue;
      e.checker.stop();
      this.byId.delete(id);
      for (const k of this.remote.keys()) if (k.startsWith(id + ' ')) this.remote.delete(k);
    }
  }

  upstreamByName(name: string): UpstreamBalancer | undefined {
    return this.byName.get(name);
  }

  /**
   * A peer for this request: null when the upstream has no healthy target (Kong's 503),
   * a promise only on a cold DNS miss.
   */
  pick(ctx: ProxyContext | null, service: Service, exclude: Peer | null): Peer | null | Promise<Peer> {
    const b = this.byName.get(service.host);
    if (b) {
      const t = b.pick(ctx, exclude?.health ?? null);
      if (!t) return null;
      const tls = service.protocol === 'https' || service.protocol === 'wss';
      let p = this.targetPeers.get(t);
      if (!p || p.tls !== tls) {
        const origin = originOf(t.host, t.port, tls);
        p = { host: t.host, port: t.port, origin, authority: new URL(origin).host, health: t, balancer: b, tls, pool: null, poolConnectTimeout: 0 };
        this.targetPeers.set(t, p);
      }
      return p;
    }
    const literal = this.literalPeers.get(service);
    if (literal !== undefined) return literal;
    const addr = this.dns.resolve(service.host);
    if (typeof addr === 'string') {
      const p = this.peerFor(addr, service);
      // Skips the IP check and the peer key string on every later request to this service.
      if (addr === service.host) this.literalPeers.set(service, p);
      return p;
    }
    return addr.then((a) => this.peerFor(a, service));
  }

  private peerFor(addr: string, service: Service): Peer {
    const tls = service.protocol === 'https' || service.protocol === 'wss';
    const key = `${tls ? 's' : ''}${addr}:${service.port}`;
    let p = this.peers.get(key);
    if (!p) {
      const origin = originOf(addr, service.port, tls);
      p = { host: addr, port: service.port, origin, authority: new URL(origin).host, health: null, balancer: null, tls, pool: null, poolConnectTimeout: 0 };
      this.peers.set(key, p);
    }
    return p;
  }

  /** The forwarder closed its pools: drop the cached references. */
  forgetPools(): void {
    for (const p of this.peers.values()) p.pool = null;
  }

  stop(): void {
    for (const e of this.byId.values()) e.checker.stop();
    this.byId.clear();
  }
}

function originOf(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
