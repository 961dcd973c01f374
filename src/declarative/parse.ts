// Kong's declarative configuration (`_format_version` "3.0", and "1.1" / "2.1" migrated on the
// fly as Kong 3 does: route-path.ts), read into a flat list of entities: children written
// inside their parent (a service's routes and plugins, a consumer's credentials...) are
// lifted out with a link to that parent, which the import turns into a foreign key once the
// parent's id is known. Kong's `_comment` and `_ignore` are accepted at the top and on every
// entity, and dropped.
import { parse } from 'yaml';
import { ENTITY_ORDER, PLUGIN_ENTITY_NAMES, entities } from '../entities/index.ts';
import type { EntityName } from '../entities/types.ts';
import { DeclarativeError, where, type Path, type Problem } from './problems.ts';
import { migrateFormat } from './route-path.ts';

export { DeclarativeError } from './problems.ts';

export const FORMAT_VERSION = '3.0';
export const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'];

/** An entity of the file, where it was written ("services[0].routes[1]") and its nested parent. */
export interface DeclaredEntity {
  entity: EntityName;
  record: Record<string, unknown>;
  where: string;
  path: Path;
  /** The item as the file wrote it, nested children included (Kong's flattened errors show it). */
  raw: Record<string, unknown>;
  /** Foreign field → the entity of the file it is nested in. */
  parent: { field: string; of: DeclaredEntity } | null;
}

export interface Declarative {
  /** false (Kong's db_export writes it): values are stored as given, e.g. passwords already hashed. */
  transform: boolean;
  /** The `_format_version` the file declared (before migration). */
  formatVersion: string;
  entities: DeclaredEntity[];
}

type Nested = Partial<Record<EntityName, Record<string, { entity: EntityName; field: string }>>>;

/**
 * The lists an entity may hold, as Kong names them, and the child's field pointing back. A
 * plugin's entity nests under each parent it is deleted with (a consumer's credentials), by
 * its own name, as in Kong's files.
 */
function nestedLists(): Nested {
  const nested: Nested = {
    services: { routes: { entity: 'routes', field: 'service' }, plugins: { entity: 'plugins', field: 'service' } },
    routes: { plugins: { entity: 'plugins', field: 'route' } },
    consumers: { plugins: { entity: 'plugins', field: 'consumer' } },
    upstreams: { targets: { entity: 'targets', field: 'upstream' } },
    certificates: { snis: { entity: 'snis', field: 'certificate' } },
  };
  for (const name of PLUGIN_ENTITY_NAMES) {
    const def = entities[name];
    for (const field of def.cascadeWith ?? []) (nested[def.foreign[field]!] ??= {})[name] = { entity: name, field };
  }
  return nested;
}

const NESTED = nestedLists();

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** YAML or JSON text into the document, or Kong's "failed parsing declarative configuration" problem. */
export function unserialize(text: string): Record<string, unknown> {
  let doc: unknown;
  // JSON first when it looks like JSON: JSON.parse is many times faster than a YAML parser on a
  // large configuration, and JSON is what tools (decK, scripts) mostly send to POST /config.
  if (/^\s*\{/.test(text)) {
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
  }
  if (doc === undefined) {
    try {
      doc = parse(text, { maxAliasCount: 1000, uniqueKeys: false });
    } catch (err) {
      throw new DeclarativeError([{ path: [], field: 'error', message: `failed parsing declarative configuration: ${(err as Error).message.split('\n')[0]}` }]);
    }
  }
  if (!isRecord(doc)) throw new DeclarativeError([{ path: [], field: 'error', message: 'failed parsing declarative configuration: expected an object' }]);
  return doc;
}

/** Kong's `_comment` (a string) and `_ignore` (an array): accepted, checked, dropped. */
function extraAttribute(k: string, v: unknown, at: Omit<Problem, 'field' | 'message'>, problems: Problem[]): boolean {
  if (k === '_comment') {
    if (typeof v !== 'string') problems.push({ ...at, field: k, message: 'expected a string' });
    return true;
  }
  if (k === '_ignore') {
    if (!Array.isArray(v)) problems.push({ ...at, field: k, message: 'expected an array' });
    return true;
  }
  return false;
}

export function parseDeclarative(text: string, _source?: string): Declarative {
  return parseDocument(unserialize(text));
}

/** An already-decoded document (a JSON body); it is not modified. */
export function parseDocument(input: Record<string, unknown>): Declarative {
  const { decl, problems } = readDocument(input);
  if (problems.length) throw new DeclarativeError(problems);
  return decl;
}

/**
 * The entities of a document and the problems of its shape, without stopping at them: the
 * entities found are still worth checking, so that one answer lists every problem.
 */
export function readDocument(input: Record<string, unknown>): { decl: Declarative; problems: Problem[] } {
  // Copied only to be migrated (1.1, 2.1); otherwise read, never written (a copy of a 10,000-route
  // document is a few tens of ms and as much garbage). The entities found may share values with it.
  const doc = input._format_version === '1.1' || input._format_version === '2.1' ? structuredClone(input) : input;
  const problems: Problem[] = [];
  const version = doc._format_version;
  if (version === undefined || version === null) problems.push({ path: [], field: '_format_version', message: 'required field missing' });
  else if (typeof version !== 'string') problems.push({ path: [], field: '_format_version', message: 'expected a string' });
  else if (!FORMAT_VERSIONS.includes(version)) problems.push({ path: [], field: '_format_version', message: `expected one of: ${FORMAT_VERSIONS.join(', ')}` });
  if (problems.length === 0) migrateFormat(doc);
  const transform = doc._transform === undefined || doc._transform === null ? true : doc._transform;
  if (typeof transform !== 'boolean') problems.push({ path: [], field: '_transform', message: 'expected a boolean' });
  const found: DeclaredEntity[] = [];
  const walk = (entity: EntityName, list: unknown, path: Path, parent: DeclaredEntity['parent']) => {
    if (!Array.isArray(list)) {
      problems.push({ path, message: 'expected an array' });
      return;
    }
    list.forEach((given, i) => {
      const at: Path = [...path, i];
      // A certificate's SNIs may be written as names only, as its Admin API `snis` shorthand.
      const item = entity === 'snis' && parent && typeof given === 'string' ? { name: given } : given;
      if (!isRecord(item)) {
        problems.push({ path: at, message: 'expected a record' });
        return;
      }
      const record: Record<string, unknown> = {};
      const children: [string, unknown][] = [];
      const declared: DeclaredEntity = { entity, record, where: where(at), path: at, raw: item, parent };
      const base = { path: at, entity, record: item };
      for (const [k, v] of Object.entries(item)) {
        if (NESTED[entity]?.[k]) children.push([k, v]);
        else if (!extraAttribute(k, v, base, problems)) record[k] = v;
      }
      if (parent && record[parent.field] !== undefined && record[parent.field] !== null) {
        problems.push({ ...base, field: parent.field, message: `value must be null (${parent.field} is given by nesting)` });
      }
      delete record[parent?.field ?? ''];
      found.push(declared);
      for (const [k, v] of children) {
        const n = NESTED[entity]![k]!;
        if (v !== null) walk(n.entity, v, [...at, k], { field: n.field, of: declared });
      }
    });
  };
  for (const [k, v] of Object.entries(doc)) {
    if (k === '_format_version' || k === '_transform') continue;
    if (extraAttribute(k, v, { path: [] }, problems)) continue;
    if (!(ENTITY_ORDER as string[]).includes(k)) {
      problems.push({ path: [], field: k, message: 'unknown field' });
      continue;
    }
    if (v !== null) walk(k as EntityName, v, [k], null);
  }
  return { decl: { transform: transform === false ? false : true, formatVersion: String(version), entities: found }, problems };
}
