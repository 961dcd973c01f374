// Entity ↔ row conversion, generic over src/entities definitions.
import type { EntityDef, ColType } from '../entities/definition.ts';
import { column } from '../entities/definition.ts';

const toSeconds = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Math.floor(d.getTime() / 1000);
};

const toMillis = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return d.getTime() / 1000;
};

export function rowToEntity(def: EntityDef, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(def.columns)) {
    const v = row[column(field, type)];
    switch (type) {
      case 'ts':
        out[field] = toSeconds(v);
        break;
      case 'ts_ms':
        out[field] = toMillis(v);
        break;
      case 'fk':
        out[field] = v ? { id: v } : null;
        break;
      default:
        out[field] = v ?? null;
    }
  }
  return out;
}

/** The SQL value expression and parameter for one field. */
export function fieldParam(type: ColType, value: unknown, n: number): { sql: string; param: unknown } {
  switch (type) {
    case 'ts':
    case 'ts_ms':
      return { sql: `to_timestamp($${n})`, param: value ?? null };
    case 'fk':
      return { sql: `$${n}::uuid`, param: value && typeof value === 'object' ? ((value as { id?: string }).id ?? null) : null };
    case 'jsonb':
      return { sql: `$${n}::jsonb`, param: value === null || value === undefined ? null : JSON.stringify(value) };
    case 'text[]':
      return { sql: `$${n}::text[]`, param: value ?? null };
    case 'uuid[]':
      return { sql: `$${n}::uuid[]`, param: value ?? null };
    case 'int':
      return { sql: `$${n}::integer`, param: value ?? null };
    case 'bool':
      return { sql: `$${n}::boolean`, param: value ?? null };
    case 'uuid':
      return { sql: `$${n}::uuid`, param: value ?? null };
    default:
      return { sql: `$${n}`, param: value ?? null };
  }
}

/** Column names are quoted: a plugin's table may have a column named `group`, a reserved word. */
export const quoteIdent = (name: string) => `"${name}"`;

/** Column names, value expressions and params for an INSERT or UPDATE of the whole entity. */
export function entityColumns(def: EntityDef, entity: Record<string, unknown>) {
  const cols: string[] = [];
  const exprs: string[] = [];
  const params: unknown[] = [];
  for (const [field, type] of Object.entries(def.columns)) {
    const { sql, param } = fieldParam(type, entity[field], params.length + 1);
    cols.push(quoteIdent(column(field, type)));
    exprs.push(sql);
    params.push(param);
  }
  for (const [col, value] of Object.entries(def.derived?.(entity) ?? {})) {
    cols.push(col);
    exprs.push(`$${params.length + 1}`);
    params.push(value);
  }
  return { cols, exprs, params };
}
