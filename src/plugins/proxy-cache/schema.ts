import { z } from 'zod';
import { DICTIONARIES } from './memory-store.ts';

// Kong 3.x proxy-cache config (kong/plugins/proxy-cache/schema.lua) with its defaults. Only the
// memory strategy exists in Kong's open-source plugin; its dictionary must be one the node has
// (Kong's "missing shared dict" check), see memory-store.ts.
export const proxyCacheSchema = z
  .object({
    response_code: z.array(z.number().int().min(100).max(900)).min(1).default([200, 301, 404]),
    request_method: z.array(z.enum(['HEAD', 'GET', 'POST', 'PATCH', 'PUT'])).default(['GET', 'HEAD']),
    content_type: z.array(z.string()).default(['text/plain', 'application/json']),
    cache_ttl: z.number().int().gt(0).default(300),
    strategy: z.enum(['memory'], { error: (iss) => (iss.input == null ? 'required field missing' : 'expected one of: memory') }),
    cache_control: z.boolean().default(false),
    ignore_uri_case: z.boolean().default(false),
    storage_ttl: z.number().int().nullable().default(null),
    memory: z.object({ dictionary_name: z.string().default('kong_db_cache') }).default({ dictionary_name: 'kong_db_cache' }),
    vary_query_params: z.array(z.string()).nullable().default(null),
    vary_headers: z.array(z.string()).nullable().default(null),
    response_headers: z
      .object({ age: z.boolean().default(true), 'X-Cache-Status': z.boolean().default(true), 'X-Cache-Key': z.boolean().default(true) })
      .default({ age: true, 'X-Cache-Status': true, 'X-Cache-Key': true }),
  })
  .superRefine((c, ctx) => {
    if (!DICTIONARIES.has(c.memory.dictionary_name)) ctx.addIssue({ code: 'custom', message: `missing shared dict '${c.memory.dictionary_name}'` });
  });
export type ProxyCacheConfig = z.infer<typeof proxyCacheSchema>;
