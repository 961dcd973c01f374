// The problems of a declarative file, each with where it is, and the three ways they are shown:
// one line each (the CLI, the start-up error), Kong's nested `fields` (kong/db/errors.lua
// `declarative_config`, code 14) and Kong's `flattened_errors` (POST /config?flatten_errors=1).
import { luaPretty, luaTable } from '../entities/errors.ts';
import type { EntityName } from '../entities/types.ts';

/** A location in the file: ['services', 0, 'routes', 1] is services[0].routes[1]. */
export type Path = (string | number)[];

export interface Problem {
  /** The entity (or top-level key) the problem is in. */
  path: Path;
  /** A field of that entity ("config.minute"), absent for a problem of the whole entity or key. */
  field?: string;
  message: string;
  /** Set when `path` names an entity: its kind and the record as the file wrote it. */
  entity?: EntityName;
  record?: Record<string, unknown>;
}

export function where(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** One line: `services[1].retries: expected an integer`. */
export function describeProblem(p: Problem): string {
  const at = p.path.length ? where(p.path) : '';
  const loc = p.field ? (at ? `${at}.${p.field}` : p.field) : at;
  return loc ? `${loc}: ${p.message}` : p.message;
}

/** A file that cannot be loaded: every problem, nothing written or served. */
export class DeclarativeError extends Error {
  readonly problems: string[];
  constructor(readonly details: Problem[]) {
    const problems = details.map(describeProblem);
    super(problems.join('\n'));
    this.problems = problems;
    this.name = 'DeclarativeError';
  }
}

/** A schema violation's `fields` ({host: msg, config: {minute: msg}, '@entity': [...]}) as problems. */
export function fieldProblems(base: Omit<Problem, 'field' | 'message'>, fields: Record<string, unknown>, prefix = ''): Problem[] {
  const out: Problem[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (k === '@entity') {
      for (const m of Array.isArray(v) ? v : [v]) out.push({ ...base, ...(prefix ? { field: prefix } : {}), message: String(m) });
      continue;
    }
    const name = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...fieldProblems(base, v as Record<string, unknown>, name));
    else if (Array.isArray(v)) v.forEach((m, i) => m !== null && m !== undefined && out.push(...(typeof m === 'object' ? fieldProblems(base, m as Record<string, unknown>, `${name}.${i + 1}`) : [{ ...base, field: `${name}.${i + 1}`, message: String(m) }])));
    else out.push({ ...base, field: name, message: String(v) });
  }
  return out;
}

type Tree = Record<string | number, unknown>;

/** Kong's nested err_t: {services = {[2] = {host = "required field missing"}}}, arrays 0-based in JSON. */
export function errorTree(problems: Problem[]): Tree {
  const root: Tree = {};
  for (const p of problems) {
    const keys: (string | number)[] = [...p.path, ...(p.field ? p.field.split('.') : [])];
    if (keys.length === 0) keys.push('error');
    let cur: Tree = root;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i]!;
      const next = keys[i + 1]!;
      if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = typeof next === 'number' ? [] : {};
      cur = cur[k] as Tree;
    }
    const last = keys[keys.length - 1]!;
    const had = cur[last];
    if (had === undefined) cur[last] = p.message;
    else if (Array.isArray(had) && typeof had[0] === 'string') had.push(p.message);
    else if (typeof had === 'string') cur[last] = [had, p.message];
  }
  return fillHoles(root) as Tree;
}

/** Sparse arrays get JSON nulls where Kong's Lua tables have holes. */
function fillHoles(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v, (x) => (x === undefined ? null : fillHoles(x)));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillHoles(x)]));
  return v;
}

/** pl.pretty.write(err_t, "") with Lua's 1-based, possibly sparse arrays: {services={[2]="..."}}. */
function luaTree(v: unknown): string {
  if (Array.isArray(v)) {
    const dense = v.every((x) => x !== null && x !== undefined);
    const parts = v.map((x, i) => (x === null || x === undefined ? null : dense ? luaTree(x) : `[${i + 1}]=${luaTree(x)}`)).filter((x) => x !== null);
    return `{${parts.join(',')}}`;
  }
  if (v !== null && typeof v === 'object') return luaTable(v as Record<string, unknown>, luaTree);
  return luaPretty(v);
}

/** Kong's 400 body for an invalid declarative configuration (code 14). */
export function declarativeErrorBody(problems: Problem[], opts: { flatten?: boolean } = {}): Record<string, unknown> {
  const entityProblems = opts.flatten ? problems.filter((p) => p.entity) : [];
  const fields = errorTree(opts.flatten ? problems.filter((p) => !p.entity) : problems);
  const body: Record<string, unknown> = {
    code: 14,
    name: 'invalid declarative configuration',
    message: `declarative config is invalid: ${luaTree(fields)}`,
    fields,
  };
  if (opts.flatten) body.flattened_errors = flattened(entityProblems);
  return body;
}

const singular = (n: string) => (n.endsWith('s') ? n.slice(0, -1) : n);

/** kong/db/errors.lua flatten_errors: one item per entity, its field and entity errors listed. */
function flattened(problems: Problem[]): Record<string, unknown>[] {
  const byEntity = new Map<string, Problem[]>();
  for (const p of problems) {
    const k = where(p.path);
    byEntity.set(k, [...(byEntity.get(k) ?? []), p]);
  }
  return [...byEntity.values()].map((list) => {
    const { entity, record = {} } = list[0]!;
    const out: Record<string, unknown> = {};
    if (typeof record.name === 'string' && record.name !== '') out.entity_name = record.name;
    if (typeof record.id === 'string') out.entity_id = record.id;
    if (Array.isArray(record.tags) && record.tags.every((t) => typeof t === 'string')) out.entity_tags = record.tags;
    out.entity_type = singular(entity!);
    out.entity = record;
    out.errors = list.map((p) => (p.field ? { type: 'field', field: p.field, message: p.message } : { type: 'entity', message: p.message }));
    return out;
  });
}
