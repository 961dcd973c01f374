import { z } from 'zod';
import { text } from '../config-fields.ts';

export const HMAC_ALGORITHMS = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

// Kong 3.x hmac-auth config with its defaults.
export const hmacAuthSchema = z.object({
  hide_credentials: z.boolean().default(false),
  clock_skew: z.number().gt(0, 'value must be greater than 0').default(300),
  anonymous: text().nullable().default(null),
  validate_request_body: z.boolean().default(false),
  enforce_headers: z.array(text()).default([]),
  algorithms: z.array(z.enum(HMAC_ALGORITHMS, { error: `expected one of: ${HMAC_ALGORITHMS.join(', ')}` })).default([...HMAC_ALGORITHMS]),
  realm: text().nullable().default(null),
});
export type HmacAuthConfig = z.infer<typeof hmacAuthSchema>;
