// `gossamer config db_import`: a declarative file into Postgres. Every entity is checked first
// (schema, references, ids) and nothing is written while any problem remains; then each entity
// is created or replaced by id, parents first, through the same write path as the Admin API,
// so each change is a cluster event and running nodes pick it up like any other write.
//
// An entity without an id is matched to the one already in the database with the same
// natural key (a service's name, a consumer's username, a plugin's name and scope...), so
// importing the same file twice changes nothing instead of failing on a unique name.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ENTITY_ORDER, entities, validateEntity } from '../entities/index.ts';
import { KongError } from '../entities/errors.ts';
import { isUuid } from '../entities/fields.ts';
import type { ConfigSnapshot, EntityName } from '../entities/types.ts';
import { loadSnapshot } from '../db/snapshot.ts';
import { upsertEntity } from '../db/write.ts';
import type { Declarative, DeclaredEntity } from './parse.ts';
import { DeclarativeError, fieldProblems, type Problem } from './problems.ts';
import { declarativeId } from './ids.ts';

export interface ImportResult {
  created: number;
  updated: number;
}

type Rec = Record<string, unknown>;

/** One entity of the file, ready to store: its input with ids and foreign keys resolved, and validated. */
export interface ResolvedEntity {
  entity: EntityName;
  where: string;
  body: Rec;
  /** The validated entity (Kong's defaults filled), before any on-write transformation. */
  valid: Rec;
  /** The entity as the file wrote it (its created_at / updated_at among others). */
  input: Rec;
}
const idOf = (v: unknown): string | null => ((v as { id?: unknown } | null)?.id as string | undefined) ?? null;

/** What makes an entity the same one again when the file gives no id (Kong's unique fields). */
function naturalKey(entity: EntityName, e: Rec): string | null {
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  switch (entity) {
    case 'services':
    case 'routes':
    case 'upstreams':
      return e.name ? s(e.name) : null;
    case 'consumers':
      return e.username ? `u:${s(e.username)}` : e.custom_id ? `c:${s(e.custom_id)}` : null;
    case 'targets':
      return `${s(idOf(e.upstream))}|${s(e.target)}`;
    case 'plugins':
      return `${s(e.name)}|${s(idOf(e.service))}|${s(idOf(e.route))}|${s(idOf(e.consumer))}`;
    default:
      // A plugin's entity says what makes it unique (its definition's naturalKey).
      return entities[entity].naturalKey?.(e) ?? null;
  }
}

/**
 * The entity as Kong's flattened errors show it: as written, with its parent's id when it is
 * nested in a parent the file gives an id (Kong flattens nested entities with that foreign key).
 */
function shown(d: DeclaredEntity): Rec {
  const parentId = d.parent?.of.raw.id;
  return d.parent && typeof parentId === 'string' ? { ...d.raw, [d.parent.field]: { id: parentId } } : d.raw;
}

/** A validation error of one entity as problems at its place in the file. */
function entityProblems(d: DeclaredEntity, err: unknown): Problem[] {
  const base = { path: d.path, entity: d.entity, record: shown(d) };
  if (err instanceof KongError) {
    const fields = (err.body as { fields?: unknown }).fields;
    if (fields && typeof fields === 'object') return fieldProblems(base, fields as Record<string, unknown>);
  }
  return [{ ...base, message: (err as Error).message }];
}

/** Each kind's single-field unique constraints, read once (uniqueKeys runs for every entity of a file). */
const singleUniques = new Map<EntityName, string[]>();
function singleUniqueFields(name: EntityName): string[] {
  let fields = singleUniques.get(name);
  if (!fields) singleUniques.set(name, (fields = Object.values(entities[name].uniques).flatMap((f) => (f.length === 1 ? [f[0]!] : []))));
  return fields;
}

/** Kong's file-wide unique keys (kong/db/schema/others/declarative_config.lua validate_references). */
function uniqueKeys(name: EntityName, e: Rec): { field: string; value: string }[] {
  const out: { field: string; value: string }[] = [];
  for (const field of singleUniqueFields(name)) {
    const v = e[field];
    if (v !== null && v !== undefined) out.push({ field, value: String(v) });
  }
  const natural = name === 'plugins' ? naturalKey(name, e) : null;
  if (natural !== null) out.push({ field: 'cache_key', value: `plugins:${natural.replace(/\|/g, ':')}` });
  return out;
}

function describe(err: unknown): string {
  if (err instanceof KongError) {
    const fields = (err.body as { fields?: unknown }).fields;
    return fields ? `${err.message}: ${JSON.stringify(fields)}` : err.message;
  }
  return (err as Error).message;
}

/** The id of an entity the file gives none and the database does not hold: Kong's DB-less ids (ids.ts). */
function fileId(name: EntityName, valid: Rec, where: string): string {
  const endpointKey = entities[name].endpointKey;
  const ek = endpointKey ? valid[endpointKey] : undefined;
  if (ek !== undefined && ek !== null && ek !== '') return declarativeId(name, name === 'targets' ? `${String(ek)}:${idOf(valid.upstream) ?? ''}` : String(ek));
  return declarativeId(name, naturalKey(name, valid) ?? `@${where}`);
}

/**
 * Ids, references and schemas of every entity, or every problem found. `stableIds` (DB-less):
 * an entity without an id gets the one every node computes alike, not a random one.
 */
export function resolveDeclarative(decl: Declarative, db: ConfigSnapshot, opts: { stableIds?: boolean } = {}): ResolvedEntity[] {
  const problems: Problem[] = [];
  const seen = new Map<string, true>();
  const ids = new Map<DeclaredEntity, string>();
  const fileIds = new Map<EntityName, Set<string>>();
  const fileByKey = new Map<EntityName, Map<string, string>>();
  const dbIds = new Map<EntityName, Set<string>>();
  const dbByEndpoint = new Map<EntityName, Map<string, string>>();
  const dbByNatural = new Map<EntityName, Map<string, string>>();
  for (const name of ENTITY_ORDER) {
    const endpointKey = entities[name].endpointKey;
    const list = (db[name] ?? []) as unknown as Rec[];
    dbIds.set(name, new Set(list.map((e) => e.id as string)));
    dbByEndpoint.set(name, new Map(endpointKey ? list.filter((e) => e[endpointKey]).map((e) => [String(e[endpointKey]), e.id as string]) : []));
    dbByNatural.set(name, new Map(list.map((e) => [naturalKey(name, e), e.id as string] as const).filter((p): p is [string, string] => p[0] !== null)));
    fileIds.set(name, new Set());
    fileByKey.set(name, new Map());
  }

  const reference = (d: DeclaredEntity, field: string, parent: EntityName, v: unknown): string | null => {
    const text = typeof v === 'string' ? v : (idOf(v) ?? ((v as { name?: unknown } | null)?.name as string | undefined));
    const at = { path: d.path, entity: d.entity, record: shown(d), field };
    if (typeof text !== 'string' || text === '') {
      problems.push({ ...at, message: 'expected an id, a name, or {id: ...}' });
      return null;
    }
    if (isUuid(text)) {
      const id = text.toLowerCase();
      if (fileIds.get(parent)!.has(id) || dbIds.get(parent)!.has(id)) return id;
    } else {
      const id = fileByKey.get(parent)!.get(text) ?? dbByEndpoint.get(parent)!.get(text);
      if (id) return id;
    }
    problems.push({ ...at, message: `'${text}' is not in this file${opts.stableIds ? '' : ' nor in the database'}` });
    return null;
  };

  const out: ResolvedEntity[] = [];
  const byKind = new Map<EntityName, DeclaredEntity[]>();
  for (const d of decl.entities) {
    const list = byKind.get(d.entity);
    if (list) list.push(d);
    else byKind.set(d.entity, [d]);
  }
  for (const name of ENTITY_ORDER) {
    const def = entities[name];
    const foreign = Object.entries(def.foreign);
    const kindIds = fileIds.get(name)!;
    const kindByKey = fileByKey.get(name)!;
    for (const d of byKind.get(name) ?? []) {
      const body: Rec = { ...d.record };
      delete body.created_at;
      delete body.updated_at;
      let ok = true;
      let orphan = false;
      if (d.parent) {
        const pid = ids.get(d.parent.of);
        // A parent with problems of its own has no id: its children are still checked, not kept.
        body[d.parent.field] = { id: pid ?? '00000000-0000-0000-0000-000000000000' };
        if (!pid) orphan = true;
      }
      for (const [field, parent] of foreign) {
        if (d.parent?.field === field || body[field] === undefined || body[field] === null) continue;
        const id = reference(d, field, parent, body[field]);
        if (id) body[field] = { id };
        else ok = false;
      }
      if (!ok) continue;
      let valid: Rec;
      try {
        valid = validateEntity(def, body);
      } catch (err) {
        problems.push(...entityProblems(d, err));
        continue;
      }
      if (orphan) continue;
      // Built only for a problem: most entities of a large file have none.
      const at = () => ({ path: d.path, entity: name, record: shown(d) });
      let id: string;
      if (body.id !== undefined) {
        if (!isUuid(body.id)) {
          problems.push({ ...at(), field: 'id', message: 'expected a valid UUID' });
          continue;
        }
        id = body.id.toLowerCase();
      } else {
        const key = naturalKey(name, valid);
        id = (key !== null ? dbByNatural.get(name)!.get(key) : undefined) ?? (opts.stableIds ? fileId(name, valid, d.where) : randomUUID());
      }
      const unique = uniqueKeys(name, valid);
      const uniqueSeen = unique.map((u) => `${name}|${u.field}|${u.value}`);
      const dup = unique.find((_, i) => seen.has(uniqueSeen[i]!));
      if (dup) {
        problems.push({ ...at(), message: `uniqueness violation: '${name}' entity with ${dup.field} set to '${dup.value}' already declared` });
        continue;
      }
      if (kindIds.has(id)) {
        // With the id it was given, as Kong's generated ids are part of the entity it shows.
        const a = at();
        problems.push({ ...a, record: { ...a.record, id: a.record.id ?? id }, message: `uniqueness violation: '${name}' entity with primary key set to '${id}' already declared` });
        continue;
      }
      for (const k of uniqueSeen) seen.set(k, true);
      kindIds.add(id);
      if (def.endpointKey && valid[def.endpointKey]) kindByKey.set(String(valid[def.endpointKey]), id);
      ids.set(d, id);
      // body and valid are this loop's own objects (copies of the file's): the id is set in place,
      // where a spread would put it (its place when given, else last).
      body.id = id;
      valid.id = id;
      out.push({ entity: name, where: d.where, body, valid, input: d.record });
    }
  }
  if (problems.length) throw new DeclarativeError(problems);
  return out;
}

export async function importDeclarative(pool: pg.Pool, decl: Declarative, onWrite?: (where: string, created: boolean) => void): Promise<ImportResult> {
  const plan = resolveDeclarative(decl, await loadSnapshot(pool));
  const result: ImportResult = { created: 0, updated: 0 };
  for (const step of plan) {
    try {
      const r = await upsertEntity(pool, step.entity, { id: step.body.id as string }, step.body, { raw: !decl.transform });
      if (r.created) result.created++;
      else result.updated++;
      onWrite?.(step.where, !!r.created);
    } catch (err) {
      throw new Error(`${step.where} (${step.entity}): ${describe(err)}; ${result.created + result.updated} of ${plan.length} entities were written before it`);
    }
  }
  return result;
}
