import { z } from 'zod';
import { text } from '../config-fields.ts';

// Kong 3.x jwt config with its defaults (kong/plugins/jwt/schema.lua), and its entity check:
// a maximum_expiration needs `exp` among the claims to verify.
export const jwtSchema = z
  .object({
    uri_param_names: z.array(text()).default(['jwt']),
    cookie_names: z.array(text()).default([]),
    key_claim_name: text().default('iss'),
    secret_is_base64: z.boolean().default(false),
    claims_to_verify: z.array(z.enum(['exp', 'nbf'], { error: 'expected one of: exp, nbf' })).nullable().default(null),
    anonymous: text().nullable().default(null),
    run_on_preflight: z.boolean().default(true),
    maximum_expiration: z.number().min(0, 'value should be between 0 and 31536000').max(31536000, 'value should be between 0 and 31536000').default(0),
    header_names: z.array(text()).default(['authorization']),
    realm: text().nullable().default(null),
  })
  .superRefine((c, ctx) => {
    if (c.maximum_expiration > 0 && !(c.claims_to_verify ?? []).includes('exp')) {
      ctx.addIssue({ code: 'custom', path: ['claims_to_verify'], message: 'expected to contain: exp' });
    }
  });
export type JwtConfig = z.infer<typeof jwtSchema>;
