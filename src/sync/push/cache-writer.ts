// Keeps a data plane's level cache up to date without holding up the changes it serves.
// A snapshot from a control plane is stored as the bytes that arrived (nothing to encode).
// After that, each change adds to a journal of the events since that snapshot: a small write
// per burst, appending only the events not yet written (level-store.ts keeps them as parts). Re-encoding the whole configuration (msgpackr + brotli, ~125 ms of this
// process's time at 10,000 routes) blocked the event loop and a change arriving meanwhile
// waited behind it: that was the p99 tail of an incremental change on a large configuration.
// It now happens only when the journal grows long, or when no snapshot is stored yet.
import type { NodeCache } from '../../cache/node-cache.ts';
import type { ChangeEvent } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { encodeSnapshot } from '../codec.ts';
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
  /** Events journaled against `base` so far, written or not. */
  private journalLength = 0;
  /** Events not yet written: the next part. */
  private unwritten: ChangeEvent[] = [];
  /** Parts written against `base`: the next part's index. */
  private parts = 0;
  private journalTimer: NodeJS.Timeout | null = null;
  private encodeTimer: NodeJS.Timeout | null = null;
  /** A re-encode is running: its snapshot write is not queued yet, and a part must follow it. */
  private encoding = false;
  private lastEncodeMs = 0;
  private stopped = false;
  savedAt: string | null = null;

  constructor(private readonly o: CacheWriterOptions) {}

  /** The cache was read from disk: its snapshot is the base, its journal (already applied) carries on. */
  loaded(base: JournalBase, journal: ChangeEvent[], savedAt: string): void {
    this.base = base;
    // What was read (all of it, or what was accepted of it) becomes part 0 at the next write,
    // replacing the stored journal: its part count here is not known, nor whether all of it applied.
    this.startJournal();
    this.unwritten = [...journal];
    this.journalLength = journal.length;
    this.savedAt = savedAt;
  }

  private startJournal(): void {
    this.journalLength = 0;
    this.unwritten = [];
    this.parts = 0;
  }

  /** Store a control plane's snapshot bytes as they are (the running configuration is exactly them). */
  snapshotBytes(bytes: Uint8Array, source: string): void {
    this.cancelTimers();
    const cache = this.o.cache();
    const meta = { config_version: cache.configVersion, config_hash: cache.configHash, source };
    this.base = { config_version: meta.config_version, config_hash: meta.config_hash };
    this.startJournal();
    void this.o.store.write(bytes, meta).then(() => {
      this.savedAt = new Date().toISOString();
    });
  }

  /** Applied change events: journal them, or re-encode when there is no base or the journal is long. */
  events(accepted: ChangeEvent[]): void {
    if (this.stopped || !accepted.length) return;
    if (!this.base || this.journalLength + accepted.length > JOURNAL_MAX) return this.reencodeSoon();
    this.unwritten.push(...accepted);
    this.journalLength += accepted.length;
    this.journalSoon();
  }

  private journalSoon(): void {
    if (this.journalTimer || this.stopped) return;
    this.journalTimer = setTimeout(() => {
      this.journalTimer = null;
      void this.writeJournal();
    }, this.o.journalDelayMs ?? 20);
    this.journalTimer.unref();
  }

  private writeJournal(): Promise<void> {
    // A re-encode coming will cover these; one running takes them up once its write is queued.
    if (!this.base || this.encodeTimer || this.encoding || !this.unwritten.length) return Promise.resolve();
    const cache = this.o.cache();
    const events = this.unwritten;
    this.unwritten = [];
    return this.o.store
      .appendJournal({ base: this.base, config_version: cache.configVersion, config_hash: cache.configHash }, this.parts++, events)
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
    this.startJournal();
    // Until the snapshot's write is queued, a part written against the new base would land
    // before it and be cleared with the old journal.
    this.encoding = true;
    try {
      await this.o.store.write(await encodeSnapshot({ ...snap, config_version: meta.config_version }), meta);
    } finally {
      this.encoding = false;
      if (this.unwritten.length) this.journalSoon();
    }
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
