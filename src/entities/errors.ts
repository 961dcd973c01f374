// Kong's error bodies (kong/db/errors.lua + kong/api/endpoints.lua), byte for byte where a
// client could match on them: codes, names, and the message formats built from `fields`.

export type ErrorBody = Record<string, unknown>;

/** An error that is an HTTP answer: handlers throw it, the server sends `status` + `body`. */
export class KongError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'KongError';
  }
}

export const CODES = {
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  INVALID_SIZE: 9,
  FOREIGN_KEYS_UNRESOLVED: 13,
} as const;

/** Lua's pl.pretty.write(t, "") as Kong prints keys in messages: {name="x"}, {id="..."}. */
export function luaPretty(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(luaPretty).join(',')}}`;
  if (typeof v === 'object') return luaTable(v as Record<string, unknown>, luaPretty);
  return String(v);
}

/** A Lua table literal of an object's keys in order, each value printed by `item`: {a=1,["b-c"]=2}. */
export function luaTable(o: Record<string, unknown>, item: (v: unknown) => string): string {
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `["${k}"]`}=${item(o[k])}`)
    .join(',')}}`;
}

function flattenForMessage(fields: Record<string, unknown>): string[] {
  const buf: string[] = [];
  const entity = fields['@entity'];
  if (Array.isArray(entity)) for (const e of entity) buf.push(String(e));
  for (const name of Object.keys(fields).sort()) {
    if (name === '@entity') continue;
    const v = fields[name];
    if (v !== null && typeof v === 'object') {
      // Kong walks one level down; arrays are Lua tables with 1-based keys.
      const entries: [string, unknown][] = Array.isArray(v)
        ? v.map((x, i) => [String(i + 1), x] as [string, unknown]).filter(([, x]) => x !== null && x !== undefined)
        : Object.keys(v as object)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]);
      for (const [sub, val] of entries) {
        buf.push(`${name}.${sub}: ${val !== null && typeof val === 'object' ? luaPretty(val) : String(val)}`);
      }
    } else {
      buf.push(`${name}: ${String(v)}`);
    }
  }
  return buf;
}

/** 400, code 2: `schema violation (a: x)` or `<n> schema violations (a: x; b: y)`. */
export function schemaViolation(fields: Record<string, unknown>): KongError {
  const buf = flattenForMessage(fields);
  const message = buf.length === 1 ? `schema violation (${buf[0]})` : `${buf.length} schema violations (${buf.join('; ')})`;
  return new KongError(400, { code: CODES.SCHEMA_VIOLATION, name: 'schema violation', message, fields });
}

/** 409, code 5. `key` is e.g. {name: "x"} or {target: "a:80", upstream: {id}}. */
export function uniqueViolation(key: Record<string, unknown>): KongError {
  return new KongError(409, {
    code: CODES.UNIQUE_VIOLATION,
    name: 'unique constraint violation',
    message: `UNIQUE violation detected on '${luaPretty(key)}'`,
    fields: key,
  });
}

/** 400, code 3: POST with an id that already exists (Kong's primary key violation). */
export function primaryKeyViolation(id: string): KongError {
  return new KongError(400, {
    code: CODES.PRIMARY_KEY_VIOLATION,
    name: 'primary key violation',
    message: `primary key violation on key '${luaPretty({ id })}'`,
    fields: { id },
  });
}

/** 400, code 4: a foreign key pointing at nothing. */
export function foreignKeyViolation(field: string, key: Record<string, unknown>, parent: string): KongError {
  return new KongError(400, {
    code: CODES.FOREIGN_KEY_VIOLATION,
    name: 'foreign key violation',
    message: `the foreign key '${luaPretty(key)}' does not reference an existing '${parent}' entity.`,
    fields: { [field]: key },
  });
}

/** 400, code 4: deleting a parent that a restricting child still references. */
export function referencedBy(parent: string, child: string): KongError {
  return new KongError(400, {
    code: CODES.FOREIGN_KEY_VIOLATION,
    name: 'foreign key violation',
    message: `an existing '${child}' entity references this '${parent}' entity`,
    fields: { '@referenced_by': child },
  });
}

/** 400, code 13: references by endpoint key that name nothing, e.g. {service: {name: "x"}}. */
export function foreignKeysUnresolved(errors: Record<string, Record<string, string>>): KongError {
  const buf: string[] = [];
  for (const field of Object.keys(errors).sort()) {
    for (const sub of Object.keys(errors[field]!).sort()) buf.push(`${field}.${sub}: ${errors[field]![sub]}`);
  }
  const message = buf.length === 1 ? `foreign key unresolved (${buf[0]})` : `${buf.length} foreign keys unresolved (${buf.join('; ')})`;
  return new KongError(400, { code: CODES.FOREIGN_KEYS_UNRESOLVED, name: 'foreign keys unresolved', message, fields: errors });
}

export function invalidSize(message: string): KongError {
  return new KongError(400, { code: CODES.INVALID_SIZE, name: 'invalid size', message });
}

export function invalidOffset(offset: string, why: string): KongError {
  return new KongError(400, { code: CODES.INVALID_OFFSET, name: 'invalid offset', message: `'${offset}' is not a valid offset: ${why}` });
}

export const notFound = (): KongError => new KongError(404, { message: 'Not found' });
export const methodNotAllowed = (): KongError => new KongError(405, { message: 'Method not allowed' });
export const badRequest = (message: string): KongError => new KongError(400, { message });
export const cannotParseJson = (): KongError => new KongError(400, { message: 'Cannot parse JSON body' });
