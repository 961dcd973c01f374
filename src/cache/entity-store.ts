// The node's (or a worker's) in-memory copy of the configuration: every entity of one
// ConfigSnapshot in Maps by id, kept current by ChangeEvents. The proxy compiles its router,
// plugin chains and balancers from this, never from Postgres.
import { EventEmitter } from 'node:events';
import type { ChangeEvent, ConfigSnapshot, EntityMap, EntityName, KeyAuthCredential } from '../entities/types.ts';

export const ENTITY_NAMES: readonly EntityName[] = [
  'services',
  'routes',
  'consumers',
  'plugins',
  'upstreams',
  'targets',
  'keyauth_credentials',
];

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
  /** key-auth key → credential: the one secondary index on the request path. */
  readonly keyauthByKey = new Map<string, KeyAuthCredential>();
  /** upstream name → upstream id (service.host is resolved against it). */
  readonly upstreamByName = new Map<string, string>();
  version = 0;

  load(snapshot: ConfigSnapshot): void {
    for (const name of ENTITY_NAMES) {
      const table = this.tables[name] as Map<string, { id: string }>;
      table.clear();
      for (const e of (snapshot[name] ?? []) as { id: string }[]) table.set(e.id, e);
    }
    this.keyauthByKey.clear();
    for (const c of this.tables.keyauth_credentials.values()) this.keyauthByKey.set(c.key, c);
    this.upstreamByName.clear();
    for (const u of this.tables.upstreams.values()) this.upstreamByName.set(u.name, u.id);
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
      if (ev.entity === 'keyauth_credentials') {
        const old = before as KeyAuthCredential | undefined;
        if (old && this.keyauthByKey.get(old.key)?.id === old.id) this.keyauthByKey.delete(old.key);
        const now = table.get(ev.entity_id) as KeyAuthCredential | undefined;
        if (now) this.keyauthByKey.set(now.key, now);
      } else if (ev.entity === 'upstreams') {
        const old = before as EntityMap['upstreams'] | undefined;
        if (old && this.upstreamByName.get(old.name) === old.id) this.upstreamByName.delete(old.name);
        const now = table.get(ev.entity_id) as EntityMap['upstreams'] | undefined;
        if (now) this.upstreamByName.set(now.name, now.id);
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
    return {
      config_version: this.version,
      services: [...this.tables.services.values()],
      routes: [...this.tables.routes.values()],
      consumers: [...this.tables.consumers.values()],
      plugins: [...this.tables.plugins.values()],
      upstreams: [...this.tables.upstreams.values()],
      targets: [...this.tables.targets.values()],
      keyauth_credentials: [...this.tables.keyauth_credentials.values()],
    };
  }
}

function emptyTables(): Tables {
  return {
    services: new Map(),
    routes: new Map(),
    consumers: new Map(),
    plugins: new Map(),
    upstreams: new Map(),
    targets: new Map(),
    keyauth_credentials: new Map(),
  };
}
