import { z } from 'zod';

// Kong 3.x cors config with its defaults.
export const corsSchema = z.object({
  origins: z.array(z.string()).nullable().default(null),
  headers: z.array(z.string()).nullable().default(null),
  exposed_headers: z.array(z.string()).nullable().default(null),
  methods: z
    .array(z.enum(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']))
    .default(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']),
  max_age: z.number().nullable().default(null),
  credentials: z.boolean().default(false),
  private_network: z.boolean().default(false),
  preflight_continue: z.boolean().default(false),
});
export type CorsConfig = z.infer<typeof corsSchema>;
