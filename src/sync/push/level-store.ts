// The data plane's last good configuration, on disk under <prefix>/dp-cache (LevelDB via
// `level`), so a data plane restarted while every control plane is down still serves.
// Written as ONE batch (snapshot bytes + meta with their sha256 and the config_hash), so a
// crash leaves the old pair or the new one. Read back, everything is checked: a store that
// LevelDB cannot open, a missing half, a checksum or config_hash that does not match — is
// logged, set aside and never served (the config_hash is checked by the loader: data-plane-sync.ts).
// Changes since that snapshot are kept beside it as a journal of events (cache-writer.ts),
// so a change never waits for the whole configuration to be re-encoded; a journal that does
// not match its snapshot, lacks a part or does not decode is dropped with a warning (the
// snapshot is served). The journal is appended, not rewritten: each write adds a part record
// (journal/0, journal/1, ...) and updates the small head record in the same batch, so a
// write costs what it adds, not every event since the snapshot.
// With a CacheSeal (a data plane: the key comes from cluster_cert_key, cache-seal.ts), every
// value is encrypted; a store an earlier version wrote in clear is read once, then replaced by a
// sealed copy.
import fs from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import type { ChangeEvent, ConfigSnapshot } from '../../entities/types.ts';
import type { Logger } from '../../log.ts';
import { decodeSnapshot, packMessage, sha256, SNAPSHOT_ENCODING, unpackMessage } from '../codec.ts';
import { CacheSeal, CacheSealError } from './cache-seal.ts';

export interface CacheMeta {
  format: 1;
  encoding: string;
  config_version: number;
  config_hash: string;
  sha256: string;
  size: number;
  saved_at: string;
  /** Who the configuration came from (control plane name or peer id). */
  source: string;
}

/** The stored snapshot a journal applies to. */
export interface JournalBase {
  config_version: number;
  config_hash: string;
}

/** The events applied since the stored snapshot, and the configuration they lead to. */
export interface Journal {
  base: JournalBase;
  config_version: number;
  config_hash: string;
  events: ChangeEvent[];
}

export interface CachedConfig {
  snapshot: ConfigSnapshot;
  bytes: Uint8Array;
  meta: CacheMeta;
  /** Events to apply on top of the snapshot (checked against its meta), or null. */
  journal: Journal | null;
}

/**
 * The `journal` record: the journal's head. Its events are in `parts` part records written
 * with it; a head without `parts` holds them inline (how the first version wrote it).
 */
interface JournalHead {
  base: JournalBase;
  config_version: number;
  config_hash: string;
  events?: ChangeEvent[];
  parts?: number;
}

const META = 'meta';
const SNAPSHOT = 'snapshot';
const JOURNAL = 'journal';
const partKey = (i: number): string => `${JOURNAL}/${i}`;
/** Every part record's key, for clearing them ('0' sorts right after '/'). */
const PARTS_RANGE = { gt: `${JOURNAL}/`, lt: `${JOURNAL}0` };

export class DpCacheStore {
  private db: Level<string, Uint8Array> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /**
   * Called by read() once the snapshot passed its checksum and decoded, and awaited before
   * read() returns, so before the caller checks its config_hash (about half a second of
   * synchronous hashing at 10k routes): the data plane hands it to its proxy workers first.
   * Bytes that match their sha256 are what was written: nothing corrupt or half-written is
   * ever handed over.
   */
  onVerified: ((snapshot: ConfigSnapshot, journal: Journal | null, bytes: Uint8Array) => Promise<void> | void) | null = null;

  /** The store being read was written in clear (before encryption at rest): its parts are too. */
  private clearStore = false;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    /** Encrypts every value (data planes); null keeps them in clear (DB-less nodes). */
    private readonly seal: CacheSeal | null = null,
  ) {}

  private sealed(record: string, value: Uint8Array): Uint8Array {
    return this.seal ? this.seal.seal(record, value) : value;
  }

  /**
   * The plain values of records read together: all sealed, or (an earlier version's store)
   * none; a mix, or a value that does not open, is an error to report.
   */
  private unseal(records: [string, Uint8Array | undefined][]): { values: (Uint8Array | undefined)[]; clear: boolean } | { error: string; wrongKey: boolean } {
    const seal = this.seal;
    if (!seal) return { values: records.map(([, v]) => v), clear: false };
    const present = records.filter(([, v]) => v !== undefined) as [string, Uint8Array][];
    const sealedCount = present.filter(([, v]) => CacheSeal.isSealed(v)).length;
    if (sealedCount === 0) return { values: records.map(([, v]) => v), clear: present.length > 0 };
    if (sealedCount < present.length) return { error: 'some records are encrypted and others are not', wrongKey: false };
    try {
      return { values: records.map(([k, v]) => (v === undefined ? undefined : seal.open(k, v))), clear: false };
    } catch (err) {
      if (err instanceof CacheSealError) return { error: err.message, wrongKey: true };
      throw err;
    }
  }

  /**
   * Rewrite a store an earlier version wrote in clear as a new, sealed one, and swap it in.
   * Sealing in place would leave the clear values in LevelDB's log and tables until a
   * compaction; a new store holds no byte of them.
   */
  private async resealAsNewStore(): Promise<void> {
    const seal = this.seal;
    const db = this.db;
    if (!seal || !db) return;
    const ops: { type: 'put'; key: string; value: Uint8Array }[] = [];
    for await (const [key, value] of db.iterator()) ops.push({ type: 'put', key, value: CacheSeal.isSealed(value) ? value : seal.seal(key, value) });
    this.db = null;
    await db.close();
    const fresh = `${this.dir}.sealing`;
    fs.rmSync(fresh, { recursive: true, force: true });
    const next = new Level<string, Uint8Array>(fresh, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await next.open();
    await next.batch(ops, { sync: true });
    await next.close();
    const old = `${this.dir}.clear-${Date.now()}`;
    fs.renameSync(this.dir, old);
    fs.renameSync(fresh, this.dir);
    fs.rmSync(old, { recursive: true, force: true });
  }

  private async open(): Promise<Level<string, Uint8Array>> {
    if (this.db) return this.db;
    fs.mkdirSync(path.dirname(this.dir), { recursive: true });
    const db = new Level<string, Uint8Array>(this.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    this.db = db;
    return db;
  }

  /** The cached configuration, or null (none, or unusable: then a warning says why). */
  async read(): Promise<CachedConfig | null> {
    if (!fs.existsSync(this.dir)) return null;
    let db: Level<string, Uint8Array>;
    try {
      db = await this.open();
    } catch (err) {
      await this.setAside(`LevelDB cannot open it: ${describe(err)}`);
      return null;
    }
    let raw: (Uint8Array | undefined)[];
    try {
      raw = await db.getMany([META, SNAPSHOT, JOURNAL]);
    } catch (err) {
      await this.setAside(`reading it failed: ${describe(err)}`);
      return null;
    }
    const reject = (why: string) => {
      this.log.warn({ dir: this.dir }, `data-plane cache ${this.dir} is corrupt or half-written (${why}); ignoring it, waiting for a control plane`);
      return null;
    };
    const opened = this.unseal([
      [META, raw[0]],
      [SNAPSHOT, raw[1]],
      [JOURNAL, raw[2]],
    ]);
    if ('error' in opened) {
      if (!opened.wrongKey) return reject(opened.error);
      this.log.warn({ dir: this.dir }, `data-plane cache ${this.dir} cannot be decrypted (${opened.error}); ignoring it, waiting for a control plane (the next configuration replaces it)`);
      return null;
    }
    this.clearStore = opened.clear;
    const [metaRaw, bytes, journalRaw] = opened.values;
    // The store is only ever created by a write of both records: an empty one lost them.
    if (!metaRaw && !bytes) return reject('both records are missing');
    if (!metaRaw || !bytes) return reject(`the ${metaRaw ? 'snapshot' : 'meta'} record is missing`);
    let meta: CacheMeta;
    try {
      meta = JSON.parse(Buffer.from(metaRaw).toString('utf8')) as CacheMeta;
    } catch {
      return reject('the meta record is not JSON');
    }
    if (meta.format !== 1 || meta.encoding !== SNAPSHOT_ENCODING) return reject(`unknown format ${meta.format}/${meta.encoding}`);
    if (bytes.length !== meta.size || sha256(bytes) !== meta.sha256) return reject(`checksum mismatch: ${bytes.length} bytes, expected ${meta.size}`);
    let snapshot: ConfigSnapshot;
    try {
      snapshot = await decodeSnapshot(bytes);
    } catch (err) {
      return reject(`cannot decode the snapshot: ${describe(err)}`);
    }
    if (snapshot.config_version !== meta.config_version) return reject(`snapshot is version ${snapshot.config_version}, meta says ${meta.config_version}`);
    // The config_hash itself is checked by the caller once the snapshot is loaded (loading
    // computes it anyway; hashing 20,000 entities twice would slow a restart down).
    const journal = journalRaw ? await this.readJournal(db, journalRaw, meta) : null;
    if (this.clearStore) {
      await this.resealAsNewStore();
      this.clearStore = false;
      this.log.warn({ dir: this.dir }, `data-plane cache ${this.dir} was written unencrypted (by an earlier version); read this once and now encrypted with the key derived from cluster_cert_key`);
    }
    await this.onVerified?.(snapshot, journal, bytes);
    return { snapshot, bytes, meta, journal };
  }

  private async readJournal(db: Level<string, Uint8Array>, raw: Uint8Array, meta: CacheMeta): Promise<Journal | null> {
    const unusable = (why: string) => {
      this.log.warn({ dir: this.dir }, `data-plane cache ${this.dir}: the journal of changes since the snapshot is unusable (${why}); serving the snapshot without it`);
      return null;
    };
    let head: JournalHead | null;
    try {
      head = unpackMessage<JournalHead>(raw);
    } catch {
      head = null;
    }
    const parts = head?.parts;
    if (!head || !head.base || (parts === undefined ? !Array.isArray(head.events) : !Number.isInteger(parts) || parts < 0)) return unusable('it does not decode');
    if (head.base.config_version !== meta.config_version || head.base.config_hash !== meta.config_hash) {
      return unusable(`it follows version ${head.base.config_version}, the snapshot is ${meta.config_version}`);
    }
    const { base, config_version, config_hash } = head;
    if (parts === undefined) return { base, config_version, config_hash, events: head.events! };
    const events: ChangeEvent[] = [];
    const raws = parts > 0 ? await db.getMany(Array.from({ length: parts }, (_, i) => partKey(i))) : [];
    for (const [i, sealedPart] of raws.entries()) {
      if (!sealedPart) return unusable(`its part ${i} of ${parts} is missing`);
      let part: unknown;
      try {
        const r = this.seal && !this.clearStore ? this.seal.open(partKey(i), sealedPart) : sealedPart;
        part = unpackMessage<unknown>(r);
      } catch {
        part = null;
      }
      if (!Array.isArray(part)) return unusable(`its part ${i} of ${parts} does not decode`);
      events.push(...(part as ChangeEvent[]));
    }
    return { base, config_version, config_hash, events };
  }

  /**
   * Add `events` as part `index` of the journal against `head.base` (0 starts a new journal)
   * and point the head at it: one synced batch, after any pending write.
   */
  appendJournal(head: Omit<Journal, 'events'>, index: number, events: ChangeEvent[]): Promise<void> {
    const part = this.sealed(partKey(index), packMessage(events));
    const value = this.sealed(JOURNAL, packMessage({ ...head, parts: index + 1 } satisfies JournalHead));
    return this.enqueue(async () => {
      const db = await this.open();
      await db.batch(
        [
          { type: 'put', key: partKey(index), value: part },
          { type: 'put', key: JOURNAL, value },
        ],
        { sync: true },
      );
    });
  }

  /** Replace the cached configuration in one synced batch. Writes are serialized. */
  write(bytes: Uint8Array, m: Omit<CacheMeta, 'format' | 'encoding' | 'sha256' | 'size' | 'saved_at'>): Promise<void> {
    const meta: CacheMeta = { format: 1, encoding: SNAPSHOT_ENCODING, ...m, sha256: sha256(bytes), size: bytes.length, saved_at: new Date().toISOString() };
    return this.enqueue(async () => {
      const db = await this.open();
      await db.batch(
        [
          { type: 'put', key: SNAPSHOT, value: this.sealed(SNAPSHOT, bytes) },
          { type: 'put', key: META, value: this.sealed(META, Buffer.from(JSON.stringify(meta))) },
          { type: 'del', key: JOURNAL },
        ],
        { sync: true },
      );
      // The old journal's parts: unreachable once its head is gone, removed to keep the store small.
      await db.clear(PARTS_RANGE);
    });
  }

  private enqueue(run: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(run, run).catch((err) => {
      this.log.warn({ dir: this.dir, err: describe(err) }, 'could not write the data-plane cache; the running configuration is unaffected');
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing;
    const db = this.db;
    this.db = null;
    await db?.close().catch(() => {});
  }

  /** Move an unreadable store out of the way (kept for inspection) so a fresh one can be written. */
  private async setAside(why: string): Promise<void> {
    const db = this.db;
    this.db = null;
    await db?.close().catch(() => {});
    const aside = `${this.dir}.corrupt-${Date.now()}`;
    try {
      fs.renameSync(this.dir, aside);
    } catch {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    this.log.warn({ dir: this.dir, moved_to: aside }, `data-plane cache ${this.dir} is corrupt (${why}); ignoring it (moved to ${aside}), waiting for a control plane`);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { message?: string } };
  return [e.code, e.message, e.cause?.message].filter(Boolean).join(': ');
}
