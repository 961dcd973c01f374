// The node's cache of record: an EntityStore (what the proxy is built from) kept current by
// ChangeEvents from three sources — this node's own Admin API writes, gossip, and reads of
// cluster_events — which may deliver the same event twice or two events out of version
// order. Each entity is a last-writer-wins register keyed by config_version (deletes leave a
// tombstone), so any delivery order ends in the same state, and that state is what
// config_hash is computed over.
import type { ChangeEvent, ConfigSnapshot, EntityName } from '../entities/types.ts';
import { AppliedVersions } from './applied-versions.ts';
import { ConfigHasher } from './config-hash.ts';
import { ENTITY_NAMES, EntityStore } from './entity-store.ts';

const KNOWN = new Set<string>(ENTITY_NAMES);
/** Tombstones older than this (and below the low-water mark) can no longer be contradicted. */
const TOMBSTONE_KEEP_MS = 10 * 60_000;

export interface SnapshotMeta {
  /** Versions of the cluster_events rows visible in the snapshot's transaction. */
  versions: number[];
  /** Highest visible version per `entity:id` (what the snapshot's rows reflect). */
  entityVersions: Map<string, number>;
  xmax: bigint;
}

export class NodeCache {
  readonly store: EntityStore;
  readonly versions = new AppliedVersions();
  private hasher = new ConfigHasher();
  private entityVersion = new Map<string, number>();
  private tombstones = new Map<string, { version: number; at: number }>();
  /**
   * Events that arrived while a snapshot was being read: applied at once (so this node's own
   * writes are served while a reload is in progress: read-your-write), and replayed over the
   * snapshot when it lands, since it may have been read before they committed.
   */
  private buffered: ChangeEvent[] | null = null;
  private loadedAt = 0;

  constructor(store = new EntityStore()) {
    this.store = store;
  }

  get configVersion(): number {
    return this.versions.max;
  }

  get configHash(): string {
    return this.hasher.value();
  }

  get loaded(): boolean {
    return this.loadedAt > 0;
  }

  /** Wall-clock ms of the last full load (db_cache_ttl refreshes by reloading). */
  get lastLoadAt(): number {
    return this.loadedAt;
  }

  /** Call before reading a snapshot: events applied meanwhile are kept and replayed on top. */
  beginLoad(): void {
    this.buffered ??= [];
  }

  /**
   * Abandon a snapshot read that failed. Returns the events still to hand on: none, since every
   * event was applied as it came (kept for callers written when loads held events back).
   */
  abortLoad(): ChangeEvent[] {
    this.buffered = null;
    return [];
  }

  /**
   * Replace everything with a snapshot read from Postgres. Returns the buffered events that
   * were newer than the snapshot (already applied to the store and included in snapshot()).
   */
  load(snapshot: ConfigSnapshot, meta: SnapshotMeta): ChangeEvent[] {
    const buffered = this.buffered ?? [];
    this.buffered = null;
    const max = meta.versions.reduce((m, v) => (v > m ? v : m), 0);
    this.store.load({ ...snapshot, config_version: max });
    this.hasher.reset(snapshot);
    this.entityVersion = new Map(meta.entityVersions);
    this.tombstones.clear();
    this.versions.reset(meta.versions, meta.xmax);
    this.loadedAt = Date.now();
    return this.apply(buffered);
  }

  /** Apply events from any source; returns those that changed the state, in version order. */
  apply(events: ChangeEvent[]): ChangeEvent[] {
    this.buffered?.push(...events);
    const sorted = [...events].sort((a, b) => a.config_version - b.config_version);
    const accepted: ChangeEvent[] = [];
    const before = new Map<string, { entity: EntityName; id: string; row: unknown }>();
    for (const ev of sorted) {
      this.versions.mark(ev.config_version);
      if (!KNOWN.has(ev.entity)) continue;
      const key = `${ev.entity}:${ev.entity_id}`;
      if ((this.entityVersion.get(key) ?? 0) >= ev.config_version) continue;
      this.entityVersion.set(key, ev.config_version);
      if (ev.op === 'delete' || ev.data == null) this.tombstones.set(key, { version: ev.config_version, at: Date.now() });
      else this.tombstones.delete(key);
      if (!before.has(key)) before.set(key, { entity: ev.entity, id: ev.entity_id, row: this.store.get(ev.entity, ev.entity_id) });
      accepted.push(ev);
    }
    if (accepted.length) {
      this.store.apply(accepted);
      for (const { entity, id, row } of before.values()) {
        this.hasher.remove(entity, row);
        this.hasher.add(entity, this.store.get(entity, id));
      }
    }
    // The store counts only accepted events; the node has applied everything it marked.
    this.store.version = this.versions.max;
    this.pruneTombstones();
    return accepted;
  }

  snapshot(): ConfigSnapshot {
    return this.store.snapshot();
  }

  private pruneTombstones(): void {
    if (this.tombstones.size < 1000) return;
    const old = Date.now() - TOMBSTONE_KEEP_MS;
    for (const [key, t] of this.tombstones) {
      if (t.at < old && t.version <= this.versions.low) {
        this.tombstones.delete(key);
        this.entityVersion.delete(key);
      }
    }
  }
}
