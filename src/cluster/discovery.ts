import type { Multiaddr } from '@multiformats/multiaddr';
import type { ClusterNodeRegistration, ClusterNodeRow, ClusterNodesStore } from '../db/cluster-nodes.ts';
import type { Logger } from '../log.ts';
import { describeDialError } from './dial-errors.ts';
import { peerToMultiaddr, type ClusterLibp2p } from './host.ts';
import type { Membership } from './membership.ts';
import { peerIdOf } from './multiaddr-parts.ts';
import { shuffle } from './prober.ts';
import type { MembershipSettings } from './settings.ts';

// How a node finds the cluster: its cluster_nodes row (DB modes) lists every live node, and
// cluster_peers adds seeds. Unreachable targets are retried with exponential backoff and
// their failures logged at most once per cluster_dial_log_interval each.

interface Target {
  key: string;
  label: string;
  addrs: Multiaddr[];
  peerId?: string;
  nodeId?: string;
}

interface Backoff {
  failures: number;
  nextAt: number;
  lastLogAt: number;
  suppressed: number;
  lastReason?: string;
}

/** cluster_nodes rows, and seeds, dialled per cluster_register_interval round (each at most this many). */
const DIALS_PER_ROUND = 3;

export interface DiscoveryOptions {
  libp2p: ClusterLibp2p;
  membership: Membership;
  store?: ClusterNodesStore;
  seeds: string[];
  settings: MembershipSettings;
  logger: Logger;
  registration: () => ClusterNodeRegistration;
}

export class Discovery {
  private backoff = new Map<string, Backoff>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inflight = new Set<string>();
  private dbDownLogged = 0;
  /** Node id → when it was forced out (DELETE /cluster/members): its row is not dialled until refreshed. */
  private forgotten = new Map<string, number>();
  private readonly seeds: { entry: string; addr: Multiaddr }[] = [];
  /** Node ids whose cluster_nodes row was fresh at the last read; null before one succeeded. */
  private liveRows: Set<string> | null = null;

  constructor(private readonly o: DiscoveryOptions) {
    for (const entry of o.seeds) {
      try {
        this.seeds.push({ entry, addr: peerToMultiaddr(entry) });
      } catch (err) {
        o.logger.warn({ peer: entry }, `cluster: ignoring cluster_peers entry: ${(err as Error).message}`);
      }
    }
  }

  /** Registers, dials what it finds, and resolves once that first round is over. */
  async start(): Promise<void> {
    this.running = true;
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.o.settings.register_interval_ms);
    this.timer.unref();
  }

  async stop(graceful: boolean): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (graceful && this.o.store) {
      await this.o.store.remove(this.o.registration().id).catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'cluster: could not remove this node from cluster_nodes'));
    }
  }

  /** A member was forced out: do not dial its row again until the node itself refreshes it. */
  forget(nodeId: string): void {
    this.forgotten.set(nodeId, Date.now());
    this.backoff.delete(`node:${nodeId}`);
  }

  /** Delete a forced-out node's row (the node handling DELETE /cluster/members does it). */
  async removeRow(nodeId: string): Promise<void> {
    this.forget(nodeId);
    await this.o.store?.remove(nodeId).catch((err) => this.o.logger.warn({ node_id: nodeId, err: (err as Error).message }, 'cluster: could not remove a forced-out node from cluster_nodes'));
  }

  /**
   * Whether a node still refreshes its cluster_nodes row (undefined: no database, or not read
   * yet). A member failed by the probes whose row is still fresh is alive somewhere this node
   * cannot reach (a partition) and may write to Postgres; one whose row aged out is dead.
   */
  registered(nodeId: string): boolean | undefined {
    return this.liveRows?.has(nodeId);
  }

  async register(): Promise<void> {
    await this.o.store?.upsert(this.o.registration());
  }

  private async tick(): Promise<void> {
    const targets: Target[] = [];
    if (this.o.store) {
      try {
        await this.register();
        const rows = await this.o.store.listLive(this.o.settings.node_live_window_ms);
        this.liveRows = new Set(rows.map((r) => r.id));
        this.dbDownLogged = 0;
        for (const row of rows) {
          const t = this.rowTarget(row);
          if (t) targets.push(t);
        }
      } catch (err) {
        const now = Date.now();
        if (now - this.dbDownLogged > this.o.settings.dial_log_interval_ms) {
          this.dbDownLogged = now;
          this.o.logger.warn({ err: (err as Error).message }, 'cluster: cannot read cluster_nodes; keeping the members already known');
        }
      }
    }
    for (const s of this.seeds) {
      if (this.seedIsMember(s.entry, s.addr)) continue;
      targets.push({ key: `seed:${s.entry}`, label: s.entry, addrs: [s.addr], peerId: peerIdOf(s.addr) ?? undefined });
    }
    await Promise.all(this.pick(targets).map((t) => this.dial(t)));
  }

  /**
   * A few database rows and a few seeds per round. One push-pull with any member brings the
   * whole table and gossip does the rest, so dialling all n rows or seeds at once buys nothing:
   * 30 nodes started together, each listing the 29 others in cluster_peers, opened 870
   * handshakes and table exchanges in the first second of a 2-core machine. A seed that is a
   * member already is not a target at all (seedIsMember).
   */
  private pick(targets: Target[]): Target[] {
    const now = Date.now();
    const ready = shuffle(targets.filter((t) => !this.inflight.has(t.key) && !(now < (this.backoff.get(t.key)?.nextAt ?? 0))));
    const rows = ready.filter((t) => t.nodeId).slice(0, DIALS_PER_ROUND);
    const seeds = ready.filter((t) => !t.nodeId).slice(0, DIALS_PER_ROUND);
    return [...seeds, ...rows];
  }

  private rowTarget(row: ClusterNodeRow): Target | null {
    const self = this.o.membership.self;
    if (row.id === self.id || row.peer_id === self.peer_id) return null;
    const forgottenAt = this.forgotten.get(row.id);
    if (forgottenAt !== undefined) {
      // A row not refreshed since the node was forced out is the dead node's; a fresher one means it is back.
      if (row.last_seen.getTime() <= forgottenAt) return null;
      this.forgotten.delete(row.id);
    }
    const m = this.o.membership.table.get(row.id);
    // A live member is the membership protocol's business; dial only strangers and the returning.
    if (m && (m.status === 'alive' || m.status === 'suspect') && m.peer_id === row.peer_id) return null;
    const addrs: Multiaddr[] = [];
    for (const a of row.addresses) {
      try {
        addrs.push(peerToMultiaddr(a));
      } catch {
        /* a malformed row written by something else: skip the address */
      }
    }
    if (!addrs.length) return null;
    return { key: `node:${row.id}`, label: `${row.name} (${row.addresses[0]})`, addrs, peerId: row.peer_id, nodeId: row.id };
  }

  private seedIsMember(entry: string, addr: Multiaddr): boolean {
    const pid = peerIdOf(addr);
    for (const m of this.o.membership.table.live()) {
      if (m.id === this.o.membership.self.id) continue;
      if (pid && m.peer_id === pid) return true;
      if (m.address === entry) return true;
      if (m.addresses.some((a) => a === addr.toString() || a.startsWith(addr.toString() + '/p2p/'))) return true;
    }
    return false;
  }

  private async dial(t: Target): Promise<void> {
    const now = Date.now();
    const b = this.backoff.get(t.key);
    if ((b && now < b.nextAt) || this.inflight.has(t.key)) return;
    this.inflight.add(t.key);
    try {
      const conn = await this.o.libp2p.dial(t.addrs, { signal: AbortSignal.timeout(this.o.settings.dial_timeout_ms) });
      const peer = conn.remotePeer.toString();
      if (t.peerId && peer !== t.peerId) this.o.logger.warn({ peer: t.label, expected: t.peerId, got: peer }, 'cluster: peer id differs from cluster_nodes (node re-created its identity?)');
      const ok = await this.o.membership.syncWith(peer);
      if (!ok) throw new Error('connected, but the membership exchange failed');
      if (b && b.failures > 0) this.o.logger.info({ peer: t.label }, 'cluster: reached peer again');
      this.backoff.delete(t.key);
    } catch (err) {
      this.failed(t, err);
    } finally {
      this.inflight.delete(t.key);
    }
  }

  private failed(t: Target, err: unknown): void {
    const s = this.o.settings;
    const now = Date.now();
    const b = this.backoff.get(t.key) ?? { failures: 0, nextAt: 0, lastLogAt: 0, suppressed: 0 };
    b.failures++;
    const delay = Math.min(s.retry_max_interval_ms, s.retry_interval_ms * 2 ** Math.min(b.failures - 1, 20));
    b.nextAt = now + delay * (0.8 + Math.random() * 0.4);
    const reason = describeDialError(err);
    if (b.lastLogAt === 0 || now - b.lastLogAt >= s.dial_log_interval_ms || reason !== b.lastReason) {
      this.o.logger.warn(
        { peer: t.label, reason, attempts: b.failures, suppressed: b.suppressed, retry_in_ms: Math.round(delay) },
        `cluster: cannot reach peer ${t.label}: ${reason}`,
      );
      b.lastLogAt = now;
      b.suppressed = 0;
      b.lastReason = reason;
    } else {
      b.suppressed++;
    }
    this.backoff.set(t.key, b);
  }
}
