import { z } from 'zod';

// Kong 3.x basic-auth config with its defaults.
export const basicAuthSchema = z.object({
  anonymous: z.string().nullable().default(null),
  hide_credentials: z.boolean().default(false),
  realm: z.string().default('service'),
});
export type BasicAuthConfig = z.infer<typeof basicAuthSchema>;
