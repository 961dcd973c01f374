import { z } from 'zod';
import { customFieldsSchema } from '../custom-fields.ts';
import { queueSchema } from '../log-queue.ts';

/** Kong's typedefs.url messages. */
function urlProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return /^[a-z][a-z0-9+.-]*:/i.test(value) ? 'missing host in url' : 'missing scheme in url';
  }
  if (!u.hostname) return 'missing host in url';
  return null;
}

/** Header names Kong's http-log refuses in `headers`: it sets them itself. */
const RESERVED: Record<string, string> = {
  host: "cannot contain 'Host' header",
  'content-length': "cannot contain 'Content-Length' header",
  'content-type': "cannot contain 'Content-Type' header",
};

// Kong 3.x http-log config (kong/plugins/http-log/schema.lua) with its defaults. The legacy
// retry_count / queue_size / flush_timeout are accepted as Kong accepts them (the handler maps
// the last two onto the queue, as Kong's Queue.get_plugin_params does).
export const httpLogSchema = z
  .object({
    http_endpoint: z.string({ error: (iss) => (iss.input == null ? 'required field missing' : 'expected a string') }).superRefine((v, ctx) => {
      const problem = urlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    content_type: z.enum(['application/json', 'application/json; charset=utf-8']).default('application/json'),
    timeout: z.number().default(10_000),
    keepalive: z.number().default(60_000),
    retry_count: z.number().int().nullable().default(null),
    queue_size: z.number().int().nullable().default(null),
    flush_timeout: z.number().nullable().default(null),
    headers: z.record(z.string(), z.string()).nullable().default(null),
    queue: queueSchema,
    custom_fields_by_lua: customFieldsSchema,
  })
  .superRefine((c, ctx) => {
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      const reserved = RESERVED[name.toLowerCase()];
      if (reserved) ctx.addIssue({ code: 'custom', path: ['headers'], message: reserved });
      else if (value === '') ctx.addIssue({ code: 'custom', path: ['headers'], message: 'length must be at least 1' });
    }
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(c.http_endpoint);
    if (userinfo && Object.keys(c.headers ?? {}).some((h) => h.toLowerCase() === 'authorization')) {
      ctx.addIssue({ code: 'custom', message: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" });
    }
  });
export type HttpLogConfig = z.infer<typeof httpLogSchema>;
