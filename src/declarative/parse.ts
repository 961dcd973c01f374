// Kong's declarative configuration (`_format_version: "3.0"`), read into a flat list of
// entities: children written inside their parent (a service's routes and plugins, a
// consumer's credentials...) are lifted out with a link to that parent, which the import
// turns into a foreign key once the parent's id is known.
import { parse } from 'yaml';
import { ENTITY_ORDER, PLUGIN_ENTITY_NAMES, entities } from '../entities/index.ts';
import type { EntityName } from '../entities/types.ts';

export const FORMAT_VERSION = '3.0';

/** An entity of the file, where it was written ("services[0].routes[1]") and its nested parent. */
export interface DeclaredEntity {
  entity: EntityName;
  record: Record<string, unknown>;
  where: string;
  /** Foreign field → the entity of the file it is nested in. */
  parent: { field: string; of: DeclaredEntity } | null;
}

export interface Declarative {
  /** false (Kong's db_export writes it): values are stored as given, e.g. passwords already hashed. */
  transform: boolean;
  entities: DeclaredEntity[];
}

/** A file that cannot be imported: every problem, one per line, nothing written. */
export class DeclarativeError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'DeclarativeError';
  }
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

export function parseDeclarative(text: string, source: string): Declarative {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new DeclarativeError([`${source}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (!isRecord(doc)) throw new DeclarativeError([`${source}: expected a mapping with _format_version and entity lists`]);
  const problems: string[] = [];
  const version = doc._format_version;
  if (version !== FORMAT_VERSION) {
    problems.push(`${source}: _format_version is ${version === undefined ? 'missing' : JSON.stringify(version)}; expected "${FORMAT_VERSION}" (Kong 3's format)`);
  }
  const transform = doc._transform === undefined ? true : doc._transform;
  if (typeof transform !== 'boolean') problems.push(`${source}: _transform must be true or false`);
  const entities: DeclaredEntity[] = [];
  const walk = (entity: EntityName, list: unknown, where: string, parent: DeclaredEntity['parent']) => {
    if (!Array.isArray(list)) {
      problems.push(`${where}: expected a list of ${entity}`);
      return;
    }
    list.forEach((given, i) => {
      const at = `${where}[${i}]`;
      // A certificate's SNIs may be written as names only, as its Admin API `snis` shorthand.
      const item = entity === 'snis' && parent && typeof given === 'string' ? { name: given } : given;
      if (!isRecord(item)) {
        problems.push(`${at}: expected a mapping`);
        return;
      }
      const record: Record<string, unknown> = {};
      const children: [string, unknown][] = [];
      for (const [k, v] of Object.entries(item)) {
        if (NESTED[entity]?.[k]) children.push([k, v]);
        else record[k] = v;
      }
      const declared: DeclaredEntity = { entity, record, where: at, parent };
      if (parent && record[parent.field] !== undefined) problems.push(`${at}: ${parent.field} is given by nesting; remove the ${parent.field} field`);
      entities.push(declared);
      for (const [k, v] of children) {
        const n = NESTED[entity]![k]!;
        walk(n.entity, v, `${at}.${k}`, { field: n.field, of: declared });
      }
    });
  };
  for (const [k, v] of Object.entries(doc)) {
    if (k === '_format_version' || k === '_transform' || k === '_comment') continue;
    if (!(ENTITY_ORDER as string[]).includes(k)) {
      problems.push(`${source}: unknown key '${k}' (expected _format_version, _transform, ${ENTITY_ORDER.join(', ')})`);
      continue;
    }
    if (v !== null) walk(k as EntityName, v, k, null);
  }
  if (problems.length) throw new DeclarativeError(problems);
  return { transform: transform as boolean, entities };
}
