// The node's (or a worker's) in-memory copy of the configuration: every entity of one
// ConfigSnapshot in Maps by id, kept current by ChangeEvents. The proxy compiles its router,
// plugin chains and balancers from this, never from Postgres.
import { EventEmitter } from 'node:events';
import type { ChangeEvent, ConfigSnapshot, EntityMap, EntityName } from '../entities/types.ts';
// Not entities/index.ts: that builds every core entity's schema, which a proxy worker never needs.
import { pluginEntityNames, pluginIndexes } from '../plugins/registry.ts';
import { EntityIndex } from './indexes.ts';

/** Every entity the store holds: core's, then the plugins' (registry order). */
export const ENTITY_NAMES: readonly EntityName[] = ['services', 'routes', 'consumers', 'plugins', 'upstreams', 'targets', 'certificates', 'snis', 'ca_certificates', ...pluginEntityNames()];

type Tables = { [K in EntityName]: Map<string, EntityMap[K]> };

export interface StoreChange {
  /** Entity kinds touched by this load/apply; a full load lists all of them. */
  entities: Set<EntityName>;
  version: number;
  full: boolean;
}

/**
 * Emits 'change' (StoreChange) after every load() and apply() batch so derived indexes
 * (router, plugin chains, balancers) know what to rebuild.
 */
export class EntityStore extends EventEmitter {
  readonly tables: Tables = emptyTables();
  /** upstream name → upstream id (service.host is resolved against it). */
  readonly upstreamByName = new Map<string, string>();
  /** The plugins' indexes (PluginPackage.indexes) by name, and by the entity they index. */
  private readonly indexes = new Map<string, EntityIndex>();
  private readonly indexesOf = new Map<EntityName, EntityIndex[]>();
  version = 0;

  constructor() {
    super();
    for (const def of pluginIndexes()) {
      const index = new EntityIndex(def);
      this.indexes.set(def.name, index);
      const list = this.indexesOf.get(def.entity) ?? [];
      list.push(index);
      this.indexesOf.set(def.entity, list);
    }
  }

  /** A plugin's index by name: the same Map for the life of the store (see src/cache/indexes.ts). */
  index<T>(name: string): ReadonlyMap<string, T> {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no cache index named ${name}`);
    return index.map as ReadonlyMap<string, T>;
  }

  load(snapshot: ConfigSnapshot): void {
    for (const name of ENTITY_NAMES) {
      const table = this.tables[name] as Map<string, { id: string }>;
      table.clear();
      for (const e of (snapshot[name] ?? []) as { id: string }[]) table.set(e.id, e);
    }
    this.upstreamByName.clear();
    for (const u of this.tables.upstreams.values()) this.upstreamByName.set(u.name, u.id);
    for (const index of this.indexes.values()) {
      index.map.clear();
      for (const row of this.tables[index.def.entity].values()) index.add(row);
    }
    this.version = snapshot.config_version;
    this.emit('change', { entities: new Set(ENTITY_NAMES), version: this.version, full: true } satisfies StoreChange);
  }

  /** Apply one event or a batch; idempotent (upsert / delete by entity_id). */
  apply(events: ChangeEvent | ChangeEvent[]): void {
    const list = Array.isArray(events) ? events : [events];
    if (list.length === 0) return;
    const touched = new Set<EntityName>();
    for (const ev of list) {
      const table = this.tables[ev.entity] as Map<string, { id: string }> | undefined;
      if (!table) continue; // an entity kind the proxy does not hold (e.g. a future plugin DAO)
      touched.add(ev.entity);
      const before = table.get(ev.entity_id);
      if (ev.op === 'delete' || ev.data == null) {
        table.delete(ev.entity_id);
      } else {
        table.set(ev.entity_id, ev.data as { id: string });
      }
      if (ev.entity === 'upstreams') {
        const old = before as EntityMap['upstreams'] | undefined;
        if (old && this.upstreamByName.get(old.name) === old.id) this.upstreamByName.delete(old.name);
        const now = table.get(ev.entity_id) as EntityMap['upstreams'] | undefined;
        if (now) this.upstreamByName.set(now.name, now.id);
      }
      const indexes = this.indexesOf.get(ev.entity);
      if (indexes) {
        const now = table.get(ev.entity_id);
        for (const index of indexes) {
          if (before) index.remove(before);
          if (now) index.add(now);
        }
      }
      if (ev.config_version > this.version) this.version = ev.config_version;
    }
    if (touched.size) this.emit('change', { entities: touched, version: this.version, full: false } satisfies StoreChange);
  }

  get<K extends EntityName>(name: K, id: string): EntityMap[K] | undefined {
    return this.tables[name].get(id);
  }

  all<K extends EntityName>(name: K): IterableIterator<EntityMap[K]> {
    return this.tables[name].values();
  }

  snapshot(): ConfigSnapshot {
    const snap: Record<string, unknown> = { config_version: this.version };
    for (const name of ENTITY_NAMES) snap[name] = [...this.tables[name].values()];
    return snap as unknown as ConfigSnapshot;
  }
}

function emptyTables(): Tables {
  return Object.fromEntries(ENTITY_NAMES.map((name) => [name, new Map()])) as Tables;
}
