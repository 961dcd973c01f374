// Service hosts that are not upstream names are resolved here, honouring the records' TTL:
// resolve4 with ttl, falling back to the system resolver (lookup: /etc/hosts, localhost).
// Answers are served from memory; an expired answer keeps serving while a refresh runs, so
// the request path only ever waits for a host it has never resolved.
import dns from 'node:dns';
import net from 'node:net';

interface Entry {
  addresses: string[];
  expiresAt: number;
  next: number;
  refreshing: Promise<void> | null;
}

const FALLBACK_TTL_S = 30;

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private resolver: Pick<typeof dns.promises, 'resolve4'> = dns.promises;

  /** Ask these name servers (`ip` or `ip:port`, Kong's dns_resolver) instead of the system's. */
  useServers(servers: string[]): void {
    const r = new dns.promises.Resolver();
    r.setServers(servers);
    this.resolver = r;
  }

  /** The next address for `host` (round-robin over the records), or a promise on a cold miss. */
  resolve(host: string): string | Promise<string> {
    if (net.isIP(host)) return host;
    const e = this.entries.get(host);
    if (e && e.addresses.length) {
      if (e.expiresAt < Date.now() && !e.refreshing) e.refreshing = this.refresh(host, e);
      const a = e.addresses[e.next++ % e.addresses.length]!;
      return a;
    }
    const fresh: Entry = e ?? { addresses: [], expiresAt: 0, next: 0, refreshing: null };
    if (!e) this.entries.set(host, fresh);
    fresh.refreshing ??= this.refresh(host, fresh);
    return fresh.refreshing.then(() => {
      if (!fresh.addresses.length) throw Object.assign(new Error(`name resolution failed for '${host}'`), { code: 'ENOTFOUND' });
      return fresh.addresses[fresh.next++ % fresh.addresses.length]!;
    });
  }

  private async refresh(host: string, e: Entry): Promise<void> {
    try {
      await this.query(host, e);
    } finally {
      e.refreshing = null;
    }
  }

  private async query(host: string, e: Entry): Promise<void> {
    try {
      const recs = await this.resolver.resolve4(host, { ttl: true });
      if (recs.length) {
        e.addresses = recs.map((r) => r.address);
        e.expiresAt = Date.now() + Math.max(0, Math.min(...recs.map((r) => r.ttl))) * 1000;
        return;
      }
    } catch {
      // not in DNS (localhost, /etc/hosts names, search domains): the system resolver knows
    }
    try {
      const all = await dns.promises.lookup(host, { all: true });
      if (all.length) {
        e.addresses = all.map((a) => a.address);
        e.expiresAt = Date.now() + FALLBACK_TTL_S * 1000;
      }
    } catch {
      e.expiresAt = Date.now() + 1000; // negative answer: retry soon, keep any stale addresses
    }
  }
}
