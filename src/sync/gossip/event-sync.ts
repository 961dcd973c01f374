// The gossip strategy: instant cluster-wide cache invalidation for nodes with a database
// (traditional nodes, control planes). The writing node applies its own committed change
// before the Admin API answers (read-your-write), then gossips it (../event-message.ts, topic
// gossamer/events/1); receivers apply the events and hand them to the proxy. Postgres stays
// the source of truth: repair.ts reads cluster_events (db.ts) whenever gossip may have missed
// something, and the db_update_frequency poll is the safety net. Each node announces
// config_version + config_hash (../announce.ts); a node whose hash differs from its peers' at
// the same version for a few seconds reloads its whole snapshot.
import type pg from 'pg';
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { EntityStore } from '../../cache/entity-store.ts';
import { NodeCache } from '../../cache/node-cache.ts';
import { Repairer, type RepairReason } from './repair.ts';
import { loadSnapshotOn, type SnapshotLoader } from './db.ts';
import { eventsReceived, setEventsMetricsSource } from './metrics.ts';
import { traceChanges } from '../trace.ts';
import { Announcer, type AnnounceUrgency } from '../announce.ts';
import { GOSSIP_GAP_GRACE_MS, GOSSIP_MISMATCH_GRACE_MS, WATCH_MS } from '../timings.ts';
import { EVENTS_TOPIC, packEvents, unpackEvents } from '../event-message.ts';
import type { ConfigSync, ReloadResult } from '../config-sync.ts';

const DEGRADED_POLL_MS = 500;
// A node that just joined ignores its peers' gossip until membership has told it who they are
// (a few seconds on a busy host): poll as if degraded until one is alive, for at most this long.
const JOINING_POLL_MS = 30_000;

/**
 * How long a cluster_events row is kept, in seconds: Kong's rule (kong/cluster_events/init.lua,
 * event_ttl_in_db = max(db_update_propagation × 10, 1 hour)). A node that was away longer than
 * half of it reloads its whole configuration instead of replaying the log.
 */
export function eventsRetentionSeconds(dbUpdatePropagation = 0): number {
  return Math.max(dbUpdatePropagation * 10, 3600);
}

/** What this module needs of a member as the membership table reports it. */
export interface EventsMember {
  id?: string;
  name?: string;
  self?: boolean;
  status?: string;
  config_version?: number | null;
  config_hash?: string | null;
}

/** The slice of the cluster (src/cluster membership) this module uses. */
export interface EventsCluster {
  publish(topic: string, data: Uint8Array): unknown;
  subscribe(topic: string, handler: (data: Uint8Array, from?: unknown) => void): unknown;
  setLocalState(state: { config_version: number; config_hash: string }): unknown;
  noteLocalState?(state: { config_version: number; config_hash: string }): unknown;
  members(): EventsMember[];
  /** Whether a member still refreshes its cluster_nodes row (undefined when not known). */
  registered?(nodeId: string): boolean | undefined;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  /** The libp2p node: a new connection (a healed partition) is a reason to repair at once. */
  libp2p?: { addEventListener(event: 'peer:connect', fn: () => void): void; removeEventListener(event: 'peer:connect', fn: () => void): void };
}

export type ChangeSource = 'local' | 'gossip' | 'repair';

export interface EventSyncOptions {
  pool: pg.Pool;
  log: Logger;
  /** Reads the whole configuration on the given client (default: loadSnapshotOn). */
  loadSnapshot?: SnapshotLoader;
  /** cluster_gossip_events (default true). Off: the poll is the only way changes arrive. */
  gossip?: boolean;
  /** db_update_frequency, seconds (default 5). */
  dbUpdateFrequency?: number;
  /** db_cache_ttl, seconds (default 0: never expire). */
  dbCacheTtl?: number;
  /** db_update_propagation, seconds (default 0): sets how long cluster_events rows are kept, as in Kong. */
  dbUpdatePropagation?: number;
  /** How long cluster_events rows are kept, seconds (default: eventsRetentionSeconds(dbUpdatePropagation)). */
  eventsRetention?: number;
  /** A hash that differs from a peer's at the same version for this long triggers a reload (default GOSSIP_MISMATCH_GRACE_MS, ../timings.ts). */
  hashMismatchGraceMs?: number;
  /** The cache of record; one is created when absent. */
  store?: EntityStore;
  /** Changes that reached the cache, in version order: give them to the proxy (and its workers). */
  onEvents?: (events: ChangeEvent[], source: ChangeSource) => void;
  /** The cache was replaced by a full snapshot: give it to the proxy. */
  onSnapshot?: (snapshot: ConfigSnapshot) => void;
}

export interface EventSyncStatus {
  config_version: number;
  config_hash: string;
  low_water_version: number;
  pending_versions: number[];
  database_reachable: boolean;
  gossip: boolean;
  /** Some member is unreachable: polling Postgres every 500 ms. */
  degraded: boolean;
  reads: number;
  reloads: number;
}

export class EventSync implements ConfigSync {
  readonly cache: NodeCache;
  readonly repairer: Repairer;
  readonly gossip: boolean;
  private cluster: EventsCluster | null = null;
  private listeners: [string, (...args: any[]) => void][] = [];
  private unlisten: (() => void)[] = [];
  private readonly announcer: Announcer;
  private watchTimer: NodeJS.Timeout | null = null;
  private degradedTimer: NodeJS.Timeout | null = null;
  /** Some member is suspect or failed, or none is alive yet after joining: gossip is not reaching everyone. */
  private degraded = false;
  private attachedAt = 0;
  private mismatchSince = 0;
  private nextMismatchReloadAt = 0;
  private mismatchBackoffMs: number;
  private readonly graceMs: number;
  private stopped = false;
  /** Counters for status and tests. */
  readonly stats = { published: 0, received: 0, gapRepairs: 0, mismatchReloads: 0 };

  constructor(private o: EventSyncOptions) {
    this.gossip = o.gossip ?? true;
    this.cache = new NodeCache(o.store ?? new EntityStore());
    this.graceMs = o.hashMismatchGraceMs ?? GOSSIP_MISMATCH_GRACE_MS;
    this.mismatchBackoffMs = this.graceMs;
    this.announcer = new Announcer(
      () => this.cluster,
      () => ({ config_version: this.cache.configVersion, config_hash: this.cache.configHash }),
      o.log,
    );
    const pollMs = Math.max(1, (o.dbUpdateFrequency ?? 5) * 1000);
    this.repairer = new Repairer({
      pool: o.pool,
      cache: this.cache,
      log: o.log,
      loadSnapshot: o.loadSnapshot ?? loadSnapshotOn,
      pollIntervalMs: pollMs,
      cacheTtlMs: (o.dbCacheTtl ?? 0) * 1000,
      retentionMs: (o.eventsRetention ?? eventsRetentionSeconds(o.dbUpdatePropagation)) * 1000,
      cleanupIntervalMs: 60_000,
      retryIntervalMs: Math.min(1000, pollMs),
      onEvents: (events) => this.deliver(events, 'repair'),
      onSnapshot: (snapshot) => {
        this.o.onSnapshot?.(snapshot);
        this.announce('lazy');
      },
      onProgress: () => this.announce('lazy'),
    });
  }

  get store(): EntityStore {
    return this.cache.store;
  }

  /** Load the cache from Postgres (warm start) and start the poll. */
  async start(): Promise<void> {
    setEventsMetricsSource({ configVersion: () => this.configVersion(), lowWater: () => this.cache.versions.low, dbReachable: () => this.dbReachable() });
    await this.repairer.start();
    this.watchTimer = setInterval(() => this.watchPeers(), WATCH_MS);
    this.watchTimer.unref();
    if (this.gossip) {
      // While some member is unreachable its gossip cannot reach us (nor ours it): fall back
      // to reading Postgres every DEGRADED_POLL_MS, so both sides of a partition stay within
      // half a second of the database and a healed node has nothing left to catch up.
      this.degradedTimer = setInterval(() => {
        if (this.degraded) void this.repairer.trigger('poll');
      }, DEGRADED_POLL_MS);
      this.degradedTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    if (this.degradedTimer) clearInterval(this.degradedTimer);
    this.announcer.stop();
    this.detachCluster();
    await this.repairer.stop();
  }

  /**
   * Connect to the cluster (may come after start()): subscribe to the events topic, react to
   * peers that are ahead or reconnect, and announce config_version + config_hash.
   */
  attachCluster(cluster: EventsCluster): void {
    this.detachCluster();
    this.cluster = cluster;
    if (this.gossip) cluster.subscribe(EVENTS_TOPIC, (data) => this.receive(data));
    const on = (event: string, fn: (...args: any[]) => void) => {
      if (!cluster.on) return;
      cluster.on(event, fn);
      this.listeners.push([event, fn]);
    };
    if (this.gossip) {
      on('member-updated', (view?: EventsMember, info?: { previous_status?: string }) => {
        // suspect → alive: the peer was unreachable for a while (a short partition).
        if (info?.previous_status && info.previous_status !== 'alive' && view?.status === 'alive') void this.repair('reconnect');
        // Ahead of us: its gossip for that version is probably a millisecond away; look again shortly.
        else setTimeout(() => this.checkPeersAhead(), 100).unref();
      });
      // A peer we lost and found again may have written while apart.
      for (const ev of ['member-joined', 'member-rejoined']) on(ev, () => void this.repair('reconnect'));
      const lp = cluster.libp2p;
      if (lp) {
        let pending = false;
        const onConnect = () => {
          // Connections come in bursts after a heal: one read for the burst.
          if (pending) return;
          pending = true;
          setTimeout(() => {
            pending = false;
            void this.repair('reconnect');
          }, 50).unref();
        };
        lp.addEventListener('peer:connect', onConnect);
        this.unlisten.push(() => lp.removeEventListener('peer:connect', onConnect));
      }
    }
    this.attachedAt = Date.now();
    this.announce();
  }

  private detachCluster(): void {
    const c = this.cluster;
    if (c?.off) for (const [event, fn] of this.listeners) c.off(event, fn);
    this.listeners = [];
    for (const u of this.unlisten) u();
    this.unlisten = [];
    this.cluster = null;
  }

  /**
   * The Admin API's after-commit hook: gossip this node's own committed changes, then apply
   * them here (the response that follows waits for this node's proxy to serve them). Peers
   * first: what they wait for is the message, and applying here (the cache, its hash, the
   * hand-over to the proxy) need not stand before it.
   */
  localChanges(events: ChangeEvent[]): void {
    if (events.length === 0) return;
    this.publish(events);
    const lowest = events.reduce((m, e) => Math.min(m, e.config_version), Infinity);
    this.deliver(this.cache.apply(events), 'local');
    this.checkGap(lowest);
  }

  private publish(events: ChangeEvent[]): void {
    if (this.gossip && this.cluster) {
      try {
        const p = this.cluster.publish(EVENTS_TOPIC, packEvents(events));
        if (p && typeof (p as Promise<unknown>).catch === 'function') {
          (p as Promise<unknown>).catch((err) => this.o.log.debug({ err }, 'publishing change events failed; peers will repair'));
        }
        this.stats.published++;
        traceChanges('published', events);
      } catch (err) {
        this.o.log.debug({ err }, 'publishing change events failed; peers will repair');
      }
    }
  }

  /** Read cluster_events past the last applied version now. */
  repair(reason: RepairReason = 'manual'): Promise<void> {
    return this.repairer.trigger(reason);
  }

  /** Replace the cache with a fresh snapshot from Postgres. */
  reload(reason: RepairReason = 'manual'): Promise<ReloadResult> {
    // The reload hands the new snapshot to the proxy (onSnapshot).
    return this.repairer.reload(reason).then(() => ({ ok: this.dbReachable(), config_version: this.configVersion(), config_hash: this.configHash(), from: 'the database' }));
  }

  notReady(): string | null {
    // The cache is warm once the node started; without Postgres a node still proxies but cannot take writes.
    return this.dbReachable() ? null : 'database unreachable';
  }

  configVersion(): number {
    return this.cache.configVersion;
  }

  configHash(): string {
    return this.cache.configHash;
  }

  /** For /status (`database.reachable`). */
  dbReachable(): boolean {
    return this.repairer.dbReachable();
  }

  status(): EventSyncStatus {
    return {
      config_version: this.cache.configVersion,
      config_hash: this.cache.configHash,
      low_water_version: this.cache.versions.low,
      pending_versions: this.cache.versions.pendingVersions().slice(0, 20),
      database_reachable: this.repairer.dbReachable(),
      gossip: this.gossip,
      degraded: this.degraded,
      reads: this.repairer.stats.reads,
      reloads: this.repairer.stats.reloads,
    };
  }

  /** A gossip message from a peer (exposed for the cluster host's handler). */
  receive(data: Uint8Array): void {
    if (this.stopped) return;
    let events: ChangeEvent[];
    try {
      const list = unpackEvents(data);
      if (!list) return;
      events = list.filter(isChangeEvent);
    } catch (err) {
      this.o.log.warn({ err }, 'dropping an undecodable change-event message');
      return;
    }
    this.stats.received++;
    traceChanges('received', events);
    const versions = this.cache.versions;
    let lowestNew = Infinity;
    for (const e of events) if (!versions.has(e.config_version) && e.config_version < lowestNew) lowestNew = e.config_version;
    if (lowestNew === Infinity) return; // all seen already
    this.deliver(this.cache.apply(events), 'gossip');
    this.checkGap(lowestNew);
  }

  /**
   * A version below `v` is missing: give gossip a few milliseconds to deliver it (two writers
   * committing together publish in either order), then read Postgres.
   */
  private checkGap(v: number): void {
    // Kong's mode (gossip off) learns of other nodes' writes only from its poll.
    if (!this.gossip || !this.cache.versions.gapBefore(v)) return;
    setTimeout(() => {
      if (this.stopped || !this.cache.versions.gapBefore(v)) return;
      this.stats.gapRepairs++;
      void this.repairer.trigger('gap');
    }, GOSSIP_GAP_GRACE_MS).unref();
  }

  private deliver(events: ChangeEvent[], source: ChangeSource): void {
    if (events.length) {
      eventsReceived.inc({ source }, events.length);
      try {
        this.o.onEvents?.(events, source);
      } catch (err) {
        this.o.log.error({ err, source }, 'the proxy failed to apply change events');
      }
    }
    // Our own writes at once: that is how a node that missed their gossip learns it is behind.
    this.announce(source === 'local' ? 'now' : 'lazy');
  }

  /** Debounced: tell the cluster our config_version and config_hash. */
  private announce(urgency: AnnounceUrgency = 'now'): void {
    this.announcer.schedule(urgency);
  }

  /**
   * A member whose writes our gossip may miss: failed while its cluster_nodes row is still fresh
   * (partitioned from us, not dead). A dead member writes nothing: polling for it until it is
   * reaped (an hour) cost every node two queries a second for nothing. A suspect is not enough:
   * it is failed or refuted within the suspicion timeout (seconds), and while a loaded cluster's
   * members flap between alive and suspect, polling for each suspicion only added load.
   */
  private unreachableButAlive(m: EventsMember): boolean {
    if (m.status !== 'failed') return false;
    return m.id === undefined || this.cluster?.registered?.(m.id) !== false;
  }

  private allPeers(): EventsMember[] {
    if (!this.cluster) return [];
    try {
      return this.cluster.members().filter((m) => !m.self);
    } catch {
      return [];
    }
  }

  private peers(): EventsMember[] {
    if (!this.cluster) return [];
    try {
      return this.cluster.members().filter((m) => !m.self && (m.status === undefined || m.status === 'alive'));
    } catch {
      return [];
    }
  }

  private checkPeersAhead(): void {
    if (!this.gossip || this.stopped) return;
    const mine = this.cache.configVersion;
    if (this.peers().some((m) => typeof m.config_version === 'number' && m.config_version > mine)) void this.repairer.trigger('peer-ahead');
  }

  /** Every second: catch up with peers that are ahead; reload when our hash stays different at the same version. */
  private watchPeers(): void {
    if (this.stopped || !this.cluster) return;
    const joining = Date.now() - this.attachedAt < JOINING_POLL_MS && this.peers().length === 0;
    this.degraded = joining || this.allPeers().some((m) => this.unreachableButAlive(m));
    if (!this.cache.loaded) return;
    this.checkPeersAhead();
    const version = this.cache.configVersion;
    const hash = this.cache.configHash;
    const differing = this.peers().filter((m) => m.config_version === version && m.config_hash && m.config_hash !== hash);
    if (differing.length === 0) {
      this.mismatchSince = 0;
      return;
    }
    const now = Date.now();
    if (!this.mismatchSince) this.mismatchSince = now;
    if (now - this.mismatchSince < this.graceMs || now < this.nextMismatchReloadAt) return;
    const names = differing.map((m) => m.name ?? m.id ?? '?').join(', ');
    this.o.log.warn(
      { config_version: version, config_hash: hash, peers: differing.map((m) => ({ name: m.name, config_hash: m.config_hash })) },
      `config_hash ${hash} differs from ${names} at config_version ${version} for ${Math.round((now - this.mismatchSince) / 1000)}s; reloading the configuration from the database`,
    );
    this.stats.mismatchReloads++;
    this.mismatchSince = 0;
    // If a reload does not cure it (the other side is wrong), do not reload in a loop.
    this.nextMismatchReloadAt = now + this.mismatchBackoffMs;
    this.mismatchBackoffMs = Math.min(this.mismatchBackoffMs * 2, 5 * 60_000);
    void this.repairer.reload('hash-mismatch');
  }
}

function isChangeEvent(e: unknown): e is ChangeEvent {
  const x = e as ChangeEvent;
  return !!x && typeof x === 'object' && Number.isSafeInteger(x.config_version) && typeof x.entity === 'string' && typeof x.entity_id === 'string' && typeof x.op === 'string';
}

/** The composition root's factory: `createEventSync(opts)`, then `start()`, then `attachCluster(cluster)`. */
export function createEventSync(opts: EventSyncOptions): EventSync {
  return new EventSync(opts);
}
