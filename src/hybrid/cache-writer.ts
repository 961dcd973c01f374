// Keeps a data plane's level cache up to date without holding up the changes it serves.
// A snapshot from a control plane is stored as the bytes that arrived (nothing to encode).
// After that, each change adds to a journal of the events since that snapshot: a small write
// per burst. Re-encoding the whole configuration (msgpackr + brotli, ~125 ms of this
// process's time at 10,000 routes) blocked the event loop and a change arriving meanwhile
// waited behind it: that was the p99 tail of an incremental change on a large configuration.
// It now happens only when the journal grows long, or when no snapshot is stored yet.
import type { NodeCache } from '../cache/node-cache.ts';
import type { ChangeEvent } from '../entities/types.ts';
import type { Logger } from '../log.ts';
import { encodeSnapshot } from './codec.ts';
import type { DpCacheStore, JournalBase } from './level-store.ts';

/** Events kept in the journal before the whole configuration is re-encoded. */
const JOURNAL_MAX = 500;

export interface CacheWriterOptions {
  store: DpCacheStore;
  log: Logger;
  cache: () => NodeCache;
  /** Who the configuration came from, stored in the cache's meta. */
  source: () => string;
  /** Delay before a full re-encode (coalesces bursts); grows with the encode time. */
  encodeDelayMs?: number;
  /** Delay before a journal write (coalesces bursts). */
  journalDelayMs?: number;
}

export class CacheWriter {
  /** The stored snapshot the journal applies to, or null (none stored: re-encode). */
  private base: JournalBase | null = null;
  private journal: ChangeEvent[] = [];
  private journalTimer: NodeJS.Timeout | null = null;
  private encodeTimer: NodeJS.Timeout | null = null;
  private lastEncodeMs = 0;
  private stopped = false;
  savedAt: string | null = null;

  constructor(private readonly o: CacheWriterOptions) {}

  /** The cache was read from disk: its snapshot is the base, its journal (already applied) carries on. */
  loaded(base: JournalBase, journal: ChangeEvent[], savedAt: string): void {
    this.base = base;
    this.journal = [...journal];
    this.savedAt = savedAt;
  }

  /** Store a control plane's snapshot bytes as they are (the running configuration is exactly them). */
  snapshotBytes(bytes: Uint8Array, source: string): void {
    this.cancelTimers();
    const cache = this.o.cache();
    const meta = { config_version: cache.configVersion, config_hash: cache.configHash, source };
    this.base = { config_version: meta.config_version, config_hash: meta.config_hash };
    this.journal = [];
    void this.o.store.write(bytes, meta).then(() => {
      this.savedAt = new Date().toISOString();
    });
  }

  /** Applied change events: journal them, or re-encode when there is no base or the journal is long. */
  events(accepted: ChangeEvent[]): void {
    if (this.stopped || !accepted.length) return;
    if (!this.base || this.journal.length + accepted.length > JOURNAL_MAX) return this.reencodeSoon();
    this.journal.push(...accepted);
    if (this.journalTimer) return;
    this.journalTimer = setTimeout(() => {
      this.journalTimer = null;
      void this.writeJournal();
    }, this.o.journalDelayMs ?? 20);
    this.journalTimer.unref();
  }

  private writeJournal(): Promise<void> {
    if (!this.base || this.encodeTimer) return Promise.resolve(); // a re-encode is coming and will cover these
    const cache = this.o.cache();
    return this.o.store
      .writeJournal({ base: this.base, config_version: cache.configVersion, config_hash: cache.configHash, events: this.journal })
      .then(() => {
        this.savedAt = new Date().toISOString();
      });
  }

  /** Re-encode the whole configuration, later: its cost grows with the configuration, so does the delay. */
  reencodeSoon(): void {
    if (this.encodeTimer || this.stopped) return;
    const delay = Math.max(this.o.encodeDelayMs ?? 1000, this.lastEncodeMs * 20);
    this.encodeTimer = setTimeout(() => {
      this.encodeTimer = null;
      const t0 = performance.now();
      void this.encodeNow()
        .then(() => {
          this.lastEncodeMs = performance.now() - t0;
        })
        .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'could not encode the configuration for the data-plane cache'));
    }, delay);
    this.encodeTimer.unref();
  }

  private async encodeNow(): Promise<void> {
    const cache = this.o.cache();
    const snap = cache.snapshot();
    const meta = { config_version: cache.configVersion, config_hash: cache.configHash, source: this.o.source() };
    // Events applied from here on journal against this snapshot; the write queue keeps the order.
    this.base = { config_version: meta.config_version, config_hash: meta.config_hash };
    this.journal = [];
    await this.o.store.write(await encodeSnapshot({ ...snap, config_version: meta.config_version }), meta);
    this.savedAt = new Date().toISOString();
  }

  /** Write what is pending now (graceful stop). */
  async flush(): Promise<void> {
    this.stopped = true;
    const pendingEncode = this.encodeTimer !== null;
    const pendingJournal = this.journalTimer !== null;
    this.cancelTimers();
    if (pendingEncode) await this.encodeNow();
    // Awaited: the store is closed right after a graceful stop's flush.
    else if (pendingJournal) await this.writeJournal();
  }

  private cancelTimers(): void {
    for (const t of [this.journalTimer, this.encodeTimer]) if (t) clearTimeout(t);
    this.journalTimer = null;
    this.encodeTimer = null;
  }
}
