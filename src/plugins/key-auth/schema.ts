import { z } from 'zod';

// Kong 3.x key-auth config with its defaults.
export const keyAuthSchema = z.object({
  key_names: z
    .array(
      z.string().refine((h) => /^[A-Za-z0-9_-]+$/.test(h), {
        error: (iss) => `bad header name '${String(iss.input)}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`,
      }),
    )
    .min(1)
    .default(['apikey']),
  hide_credentials: z.boolean().default(false),
  anonymous: z.string().nullable().default(null),
  key_in_header: z.boolean().default(true),
  key_in_query: z.boolean().default(true),
  key_in_body: z.boolean().default(false),
  run_on_preflight: z.boolean().default(true),
  realm: z.string().nullable().default(null),
});
export type KeyAuthConfig = z.infer<typeof keyAuthSchema>;
