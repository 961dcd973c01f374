// A declarative configuration as the whole configuration of a node without a database (DB-less
// mode): every entity checked (schema, references, ids, uniqueness) exactly as `db_import`
// checks it, then turned into the rows Postgres would have stored, so the proxy, the cache and
// config_hash see a DB-less node's entities in the same shape as everyone else's.
import { ENTITY_ORDER, entities } from '../entities/index.ts';
import type { ColType, EntityDef } from '../entities/definition.ts';
import type { ConfigSnapshot, EntityName } from '../entities/types.ts';
import { resolveDeclarative } from './import.ts';
import { readDocument, unserialize, type Declarative } from './parse.ts';
import { DeclarativeError, type Problem } from './problems.ts';

type Rec = Record<string, unknown>;

function emptySnapshot(): ConfigSnapshot {
  const snap: Rec = { config_version: 0 };
  for (const name of ENTITY_ORDER) snap[name] = [];
  return snap as unknown as ConfigSnapshot;
}

/** Each definition's columns as a list, read once (stored runs for every entity of a file). */
const columnLists = new WeakMap<EntityDef, [string, ColType][]>();
function columnsOf(def: EntityDef): [string, ColType][] {
  let cols = columnLists.get(def);
  if (!cols) columnLists.set(def, (cols = Object.entries(def.columns)));
  return cols;
}

/** The entity as src/db/rows.ts rowToEntity would return it after the insert. */
function stored(def: EntityDef, e: Rec, now: number): Rec {
  const out: Rec = {};
  for (const [field, type] of columnsOf(def)) {
    const v = e[field];
    if (type === 'ts') out[field] = typeof v === 'number' ? Math.floor(v) : field === 'created_at' || field === 'updated_at' ? now : (v ?? null);
    else if (type === 'fk') out[field] = v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? { id: (v as { id: string }).id } : null;
    else out[field] = v ?? null;
  }
  return out;
}

/** Every entity of the file as a configuration snapshot, or a DeclarativeError listing every problem. */
export function buildSnapshot(decl: Declarative, configVersion = 0, now = Math.floor(Date.now() / 1000)): ConfigSnapshot {
  const plan = resolveDeclarative(decl, emptySnapshot(), { stableIds: true });
  const snap = emptySnapshot() as unknown as Record<EntityName, Rec[]> & { config_version: number };
  snap.config_version = configVersion;
  for (const step of plan) {
    const def = entities[step.entity];
    // The plan is this function's own: its entities are changed in place, not copied.
    const e: Rec = step.valid;
    // Kong's on-write transformations (a credential's password hashed) unless the file says
    // `_transform: false`, as db_export writes it.
    if (decl.transform) def.onWrite?.(e, step.body);
    // A file's timestamps are kept (Kong's GET /config gives them back); others are now.
    if (typeof step.input.created_at === 'number') e.created_at = step.input.created_at;
    if (typeof step.input.updated_at === 'number') e.updated_at = step.input.updated_at;
    snap[step.entity].push(stored(def, e, now));
  }
  return snap as unknown as ConfigSnapshot;
}

/** `now`: the created_at / updated_at of entities the file gives none (seconds; the time of the build by default). */
export function snapshotFromText(text: string, configVersion = 0, now?: number): ConfigSnapshot {
  return snapshotFromDocument(unserialize(text), configVersion, now);
}

/** The shape's problems and the entities' problems together, in one DeclarativeError. */
export function snapshotFromDocument(doc: Rec, configVersion = 0, now?: number): ConfigSnapshot {
  const { decl, problems } = readDocument(doc);
  let entityProblems: Problem[] = [];
  try {
    const snap = buildSnapshot(decl, configVersion, now);
    if (problems.length === 0) return snap;
  } catch (err) {
    if (!(err instanceof DeclarativeError)) throw err;
    entityProblems = err.details;
  }
  throw new DeclarativeError([...problems, ...entityProblems]);
}
