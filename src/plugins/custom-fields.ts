// Kong's `custom_fields_by_lua` of the logging plugins: each key (a dotted path into the log
// entry, `\.` for a literal dot) gets what its Lua expression returns. Gossamer runs no Lua, so
// it takes the expressions that are constants (`return 123`, `return "text"`, `return nil` to
// remove a field, `return true`), which is what most configurations use them for, and refuses
// any other with a message naming the key, rather than silently logging something different.
import { z } from 'zod';

export type CustomValue = string | number | boolean | null;

const LITERAL = /^\s*return\s+(nil|true|false|-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*;?\s*$/;

/** The constant a `return <literal>` expression gives, or undefined when it is not one. */
export function literalOf(expr: string): CustomValue | undefined {
  const m = LITERAL.exec(expr);
  if (!m) return undefined;
  const v = m[1]!;
  if (v === 'nil') return null;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v.startsWith('"') || v.startsWith("'")) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return Number(v);
}

/** Kong's typedefs.lua_code for these plugins: a map of non-empty strings, literals only here. */
export const customFieldsSchema = z
  .record(z.string().min(1), z.string().min(1))
  .superRefine((map, ctx) => {
    for (const [key, expr] of Object.entries(map)) {
      if (literalOf(expr) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'Gossamer runs no Lua: only an expression returning a constant (return 123, return "text", return true, return nil) is supported',
        });
      }
    }
  })
  .nullable()
  .default(null);

/** Split `a.b\.c` into [`a`, `b.c`] (Kong's set_serialize_value path rule). */
export function pathOf(key: string): string[] {
  return key.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
}

/** Apply the configured fields to a serialized entry (kong.log.set_serialize_value). */
export function applyCustomFields(entry: Record<string, unknown>, fields: Record<string, string> | null): void {
  if (fields === null) return;
  for (const [key, expr] of Object.entries(fields)) {
    const value = literalOf(expr) ?? null;
    const path = pathOf(key);
    let cur = entry;
    for (let i = 0; i < path.length - 1; i++) {
      const next = cur[path[i]!];
      if (typeof next !== 'object' || next === null) cur[path[i]!] = {};
      else cur[path[i]!] = { ...(next as Record<string, unknown>) };
      cur = cur[path[i]!] as Record<string, unknown>;
    }
    const last = path[path.length - 1]!;
    if (value === null) delete cur[last];
    else cur[last] = value;
  }
}
