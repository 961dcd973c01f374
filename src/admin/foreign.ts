// Foreign references in a request body as Kong's endpoints take them: a whole or partial
// parent record (`{"service": {...}}`, `service.name=s1`). The fields given are validated
// against the parent's schema, the reference keeps only its primary key, and a reference by
// endpoint key (`{"name": "s1"}`) is resolved to the parent's id, or answers Kong's code 13.
import type pg from 'pg';
import type { z } from 'zod';
import type { EntityName } from '../entities/types.ts';
import { entities, validateEntity } from '../entities/index.ts';
import { KongError, foreignKeysUnresolved, schemaViolation } from '../entities/errors.ts';
import { kongMessage } from '../entities/fields.ts';
import { coerce } from './form.ts';
import { selectEntity } from '../db/read.ts';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Kong validates the parent fields a reference carries, one by one (Schema:validate_field). */
function partialErrors(parent: EntityName, ref: Rec): Rec {
  const shape = ((entities[parent].schema as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {}) as Record<string, z.ZodType>;
  const errors: Rec = {};
  for (const [k, v] of Object.entries(ref)) {
    if (k === 'id') continue;
    const field = Object.hasOwn(shape, k) ? shape[k] : undefined;
    if (!field) {
      errors[k] = 'unknown field';
      continue;
    }
    const parsed = field.safeParse(v, { error: kongMessage });
    if (!parsed.success) errors[k] = parsed.error.issues[0]?.message ?? 'invalid value';
  }
  return errors;
}

/**
 * Rewrite the body's foreign references to `{id}`. `full` is a whole entity (POST, PUT): its
 * own field errors are reported with the reference's, in one schema violation as Kong does.
 */
export async function resolveForeign(pool: pg.Pool, entity: EntityName, body: Rec, opts: { form: boolean; full: boolean }): Promise<Rec> {
  const def = entities[entity];
  const bad: Rec = {};
  const unresolved: Record<string, Record<string, string>> = {};
  for (const [field, parent] of Object.entries(def.foreign)) {
    let ref = body[field];
    if (!isRec(ref)) continue;
    if (opts.form) ref = coerce(entities[parent].schema, ref) as Rec;
    const r = ref as Rec;
    const errors = partialErrors(parent, r);
    if (Object.keys(errors).length > 0) {
      bad[field] = errors;
      continue;
    }
    if (r.id !== undefined && r.id !== null) {
      body[field] = { id: r.id };
      continue;
    }
    const ek = entities[parent].endpointKey;
    const value = ek ? r[ek] : undefined;
    if (ek && typeof value === 'string' && value !== '') {
      const found = await selectEntity(pool, parent, { field: ek, value });
      if (found) body[field] = { id: found.id };
      else unresolved[field] = { [ek]: `the foreign key cannot be resolved with '{${ek}="${value.replace(/"/g, '\\"')}"}' for an existing '${parent}' entity` };
      continue;
    }
    bad[field] = { id: 'missing primary key' };
  }
  if (Object.keys(bad).length > 0) {
    let fields: Rec = {};
    if (opts.full) {
      const rest = { ...body };
      for (const f of Object.keys(bad)) rest[f] = null;
      try {
        validateEntity(def, rest);
      } catch (err) {
        if (err instanceof KongError && isRec(err.body.fields)) fields = { ...err.body.fields };
      }
    }
    throw schemaViolation({ ...fields, ...bad });
  }
  if (Object.keys(unresolved).length > 0) throw foreignKeysUnresolved(unresolved);
  return body;
}
