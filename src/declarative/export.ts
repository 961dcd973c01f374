// `gossamer config db_export`: the database's configuration as Kong's declarative file, flat
// (one list per entity, parents first, a foreign key as the parent's id) like `kong config
// db_export`. `_transform: false` because stored values are already transformed (a credential's
// password is stored hashed): db_import then stores them as they are.
import { stringify } from 'yaml';
import { ENTITY_ORDER, entities } from '../entities/index.ts';
import type { ConfigSnapshot } from '../entities/types.ts';
import { FORMAT_VERSION } from './parse.ts';

/**
 * `full` (Kong's GET /config on a DB-less node): every field, nulls and timestamps included,
 * as Kong's export writes them; without it, db_export's shorter file.
 */
export function exportDeclarative(snapshot: ConfigSnapshot, opts: { full?: boolean } = {}): string {
  const doc: Record<string, unknown> = { _format_version: FORMAT_VERSION, _transform: false };
  for (const name of ENTITY_ORDER) {
    const list = (snapshot[name] ?? []) as unknown as Record<string, unknown>[];
    if (list.length === 0) continue;
    const foreign = entities[name].foreign;
    doc[name] = [...list]
      .sort((a, b) => String(a.id).localeCompare(String(b.id)))
      .map((e) => {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(e).sort()) {
          const v = e[k];
          if (v === undefined) continue;
          if (!opts.full && (v === null || k === 'created_at' || k === 'updated_at')) continue;
          out[k] = k in foreign && v !== null ? (v as { id: string }).id : v;
        }
        return out;
      });
  }
  return stringify(doc, { lineWidth: 0 });
}
