// Secondary indexes of the node's cache, declared by the plugins that read them per request
// (a credential by its key, a consumer's rows) and kept by EntityStore on every load and
// change. Generic so core keeps no plugin's lookup; each index is one Map that lives as long
// as the store, so a handler may hold it from the moment it is built.
import type { EntityName } from '../entities/types.ts';

type Row = { id: string };

export interface IndexDefinition {
  /** The name a handler asks the store for, e.g. `<entity>.<field>`. */
  name: string;
  entity: EntityName;
  /** The key a row is found by. */
  key(row: never): string;
  /**
   * unique: key → row (one row per key; a stale row never removes its successor's entry).
   * group: key → the rows with that key, by id (e.g. a consumer's rows).
   */
  kind: 'unique' | 'group';
}

export class EntityIndex {
  readonly map = new Map<string, unknown>();
  private readonly key: (row: Row) => string;

  constructor(readonly def: IndexDefinition) {
    this.key = def.key as (row: Row) => string;
  }

  add(row: Row): void {
    const k = this.key(row);
    if (this.def.kind === 'unique') {
      this.map.set(k, row);
      return;
    }
    let rows = this.map.get(k) as Map<string, Row> | undefined;
    if (!rows) this.map.set(k, (rows = new Map()));
    rows.set(row.id, row);
  }

  remove(row: Row): void {
    const k = this.key(row);
    if (this.def.kind === 'unique') {
      if ((this.map.get(k) as Row | undefined)?.id === row.id) this.map.delete(k);
      return;
    }
    const rows = this.map.get(k) as Map<string, Row> | undefined;
    if (!rows) return;
    rows.delete(row.id);
    if (rows.size === 0) this.map.delete(k);
  }
}
