// Repair: bring the node cache up to date from Postgres. Triggered at once by a gap in the
// gossiped versions, a peer announcing a higher config_version, a reconnect, or start-up;
// the db_update_frequency poll is the safety net (and, with cluster_gossip_events = off,
// the only mechanism: Kong's mode). With Postgres unreachable the node keeps serving its
// cache and retries quietly: one log line when the database goes away, one when it returns.
import type pg from 'pg';
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { describePgCause, isConnectionError, poolTarget } from '../../db/pool.ts';
import type { NodeCache } from '../../cache/node-cache.ts';
import { cleanupEvents, readEventsSince, readSnapshot, type SnapshotLoader } from './db.ts';
import { repairsTotal } from './metrics.ts';

export interface RepairOptions {
  pool: pg.Pool;
  cache: NodeCache;
  log: Logger;
  loadSnapshot: SnapshotLoader;
  /** db_update_frequency in ms: the safety-net poll. */
  pollIntervalMs: number;
  /** db_cache_ttl in ms; 0 = entries never expire. */
  cacheTtlMs: number;
  /** cluster_events older than this are deleted (and a node that lagged half of it reloads whole). */
  retentionMs: number;
  cleanupIntervalMs: number;
  /** Retry interval while the database is unreachable. */
  retryIntervalMs: number;
  /** Changes that reached the cache (hand them to the proxy). */
  onEvents: (events: ChangeEvent[], source: 'repair') => void;
  /** A full snapshot replaced the cache. */
  onSnapshot: (snapshot: ConfigSnapshot) => void;
  /** After any repair that changed the applied state. */
  onProgress?: () => void;
}

export type RepairReason = 'start' | 'gap' | 'peer-ahead' | 'reconnect' | 'poll' | 'retry' | 'manual' | 'ttl' | 'hash-mismatch' | 'stale';

export class Repairer {
  private cursor: bigint | null = null;
  private running: Promise<void> | null = null;
  private queued: { reason: RepairReason; promise: Promise<void>; resolve: () => void } | null = null;
  private wantReload = false;
  private reachable = true;
  private lastSuccess = 0;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Counters for status and tests. */
  readonly stats = { reads: 0, reloads: 0, failures: 0, cleaned: 0 };

  constructor(private o: RepairOptions) {}

  /** First load (warm cache) then the timers. Resolves once loaded, or once the first attempt failed (retries continue). */
  async start(): Promise<void> {
    this.wantReload = true;
    await this.trigger('start');
    const poll = setInterval(() => void this.trigger('poll'), this.o.pollIntervalMs);
    poll.unref();
    this.timers.push(poll);
    if (this.o.cacheTtlMs > 0) {
      // db_cache_ttl: every entry older than the ttl is read again. The cache is one complete
      // set, so the simple, correct way is a background reload of the whole snapshot.
      const ttl = setInterval(() => void this.reload('ttl'), this.o.cacheTtlMs);
      ttl.unref();
      this.timers.push(ttl);
    }
    const clean = setInterval(() => void this.cleanup(), this.o.cleanupIntervalMs);
    clean.unref();
    this.timers.push(clean);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.running?.catch(() => {});
  }

  dbReachable(): boolean {
    return this.reachable;
  }

  /** Read past the last applied version now (coalesced: one read in flight, one queued). */
  trigger(reason: RepairReason): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      // The read in flight may have taken its snapshot before the caller's reason arose.
      this.queued ??= { reason, ...Promise.withResolvers<void>() };
      return this.queued.promise;
    }
    this.running = this.run(reason).finally(() => {
      this.running = null;
      const next = this.queued;
      this.queued = null;
      if (next) {
        if (this.stopped) next.resolve();
        else void this.trigger(next.reason).then(next.resolve);
      }
    });
    return this.running;
  }

  /** Replace the whole cache with a fresh snapshot from Postgres. */
  reload(reason: RepairReason): Promise<void> {
    this.wantReload = true;
    return this.trigger(reason);
  }

  private async run(reason: RepairReason): Promise<void> {
    const { cache, log } = this.o;
    // A node that lost the database for longer than half the retention may have missed
    // events that were cleaned up meanwhile: reload rather than replay.
    if (this.lastSuccess > 0 && Date.now() - this.lastSuccess > this.o.retentionMs / 2) this.wantReload = true;
    try {
      if (this.wantReload || this.cursor === null) {
        cache.beginLoad();
        let read;
        try {
          read = await readSnapshot(this.o.pool, this.o.loadSnapshot);
        } catch (err) {
          cache.abortLoad();
          throw err;
        }
        const newer = cache.load(read.snapshot, read.meta);
        this.cursor = read.xmin;
        this.wantReload = false;
        this.stats.reloads++;
        repairsTotal.inc({ reason, kind: 'reload' });
        this.o.onSnapshot(cache.snapshot());
        if (newer.length) this.o.onEvents(newer, 'repair');
        log.info({ reason, config_version: cache.configVersion, config_hash: cache.configHash }, 'configuration loaded from the database');
      }
      // Also right after a load: events committed between the snapshot and now.
      const r = await readEventsSince(this.o.pool, this.cursor!, cache.versions.low);
      this.stats.reads++;
      repairsTotal.inc({ reason, kind: 'read' });
      const before = cache.configVersion;
      const accepted = cache.apply(r.events);
      cache.versions.afterDbRead(r.xmin, r.xmax, r.maxVisible);
      this.cursor = r.xmin;
      if (accepted.length) {
        this.o.onEvents(accepted, 'repair');
        log.debug({ reason, applied: accepted.length, config_version: cache.configVersion }, 'repair applied missed events');
      }
      if (accepted.length || cache.configVersion !== before) this.o.onProgress?.();
      this.lastSuccess = Date.now();
      this.setReachable(true);
    } catch (err) {
      this.stats.failures++;
      if (isConnectionError(err)) {
        this.setReachable(false, err);
      } else {
        log.error({ err, reason }, 'repair from cluster_events failed');
      }
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.trigger('retry');
    }, this.o.retryIntervalMs);
    this.retryTimer.unref();
  }

  private setReachable(ok: boolean, err?: unknown): void {
    if (ok === this.reachable) return;
    this.reachable = ok;
    const where = poolTarget(this.o.pool);
    if (ok) this.o.log.info({ postgres: where }, `database at ${where} is reachable again; caught up to config_version ${this.o.cache.configVersion}`);
    else this.o.log.warn({ postgres: where }, `database at ${where} is unreachable (${describePgCause(err)}); serving from cache and retrying`);
  }

  private async cleanup(): Promise<void> {
    if (!this.reachable || this.stopped) return;
    try {
      const n = await cleanupEvents(this.o.pool, this.o.retentionMs / 1000);
      if (n) {
        this.stats.cleaned += n;
        this.o.log.debug({ deleted: n }, 'expired cluster_events cleaned up');
      }
    } catch (err) {
      if (!isConnectionError(err)) this.o.log.warn({ err }, 'cluster_events cleanup failed');
    }
  }
}
