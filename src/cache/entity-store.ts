// The node's (or a worker's) in-memory copy of the configuration: every entity of one
// ConfigSnapshot in Maps by id, kept current by ChangeEvents. The proxy compiles its router,
// plugin chains and balancers from this, never from Postgres.
import { EventEmitter } from 'node:events';
import type { Acl, BasicAuthCredential, ChangeEvent, ConfigSnapshot, EntityMap, EntityName, KeyAuthCredential } from '../entities/types.ts';

export const ENTITY_NAMES: readonly EntityName[] = [
  'services',
  'routes',
  'consumers',
  'plugins',
  'upstreams',
  'targets',
  'keyauth_credentials',
  'basicauth_credentials',
  'acls',
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
  /** basic-auth username → credential. */
  readonly basicauthByUsername = new Map<string, BasicAuthCredential>();
  /** consumer id → its acl rows by id (the acl plugin reads a consumer's groups per request). */
  readonly aclsByConsumer = new Map<string, Map<string, Acl>>();
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
    this.basicauthByUsername.clear();
    for (const c of this.tables.basicauth_credentials.values()) this.basicauthByUsername.set(c.username, c);
    this.aclsByConsumer.clear();
    for (const a of this.tables.acls.values()) this.indexAcl(a);
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
      } else if (ev.entity === 'basicauth_credentials') {
        const old = before as BasicAuthCredential | undefined;
        if (old && this.basicauthByUsername.get(old.username)?.id === old.id) this.basicauthByUsername.delete(old.username);
        const now = table.get(ev.entity_id) as BasicAuthCredential | undefined;
        if (now) this.basicauthByUsername.set(now.username, now);
      } else if (ev.entity === 'acls') {
        if (before) this.unindexAcl(before as Acl);
        const now = table.get(ev.entity_id) as Acl | undefined;
        if (now) this.indexAcl(now);
      }
      if (ev.config_version > this.version) this.version = ev.config_version;
    }
    if (touched.size) this.emit('change', { entities: touched, version: this.version, full: false } satisfies StoreChange);
  }

  /** The acl groups of a consumer, in no particular order (empty when none). */
  groupsOf(consumerId: string): string[] {
    const rows = this.aclsByConsumer.get(consumerId);
    if (!rows) return [];
    const out: string[] = [];
    for (const a of rows.values()) out.push(a.group);
    return out;
  }

  private indexAcl(a: Acl): void {
    let rows = this.aclsByConsumer.get(a.consumer.id);
    if (!rows) this.aclsByConsumer.set(a.consumer.id, (rows = new Map()));
    rows.set(a.id, a);
  }

  private unindexAcl(a: Acl): void {
    const rows = this.aclsByConsumer.get(a.consumer.id);
    if (!rows) return;
    rows.delete(a.id);
    if (rows.size === 0) this.aclsByConsumer.delete(a.consumer.id);
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
      basicauth_credentials: [...this.tables.basicauth_credentials.values()],
      acls: [...this.tables.acls.values()],
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
    basicauth_credentials: new Map(),
    acls: new Map(),
  };
}
