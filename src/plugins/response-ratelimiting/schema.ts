import { z } from 'zod';
import { foldRedisShorthands, redisHostCheck, redisSchema } from '../redis-config.ts';
import { PERIODS } from '../rate-limiting/windows.ts';

const limit = z.number().gt(0).nullable().default(null);

/** One named limit: a number per period, at least one, a longer period never lower (Kong's validate_periods_order). */
const limitSchema = z
  .object({ second: limit, minute: limit, hour: limit, day: limit, month: limit, year: limit })
  .superRefine((l, ctx) => {
    if (!PERIODS.some((p) => l[p] !== null)) {
      ctx.addIssue({ code: 'custom', message: "at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'" });
    }
    for (let i = 0; i < PERIODS.length; i++) {
      const lower = l[PERIODS[i]!];
      if (lower === null) continue;
      for (let j = i + 1; j < PERIODS.length; j++) {
        const upper = l[PERIODS[j]!];
        if (upper !== null && upper < lower) {
          ctx.addIssue({ code: 'custom', message: `the limit for ${PERIODS[j]}(${upper.toFixed(1)}) cannot be lower than the limit for ${PERIODS[i]}(${lower.toFixed(1)})` });
        }
      }
    }
  });

// Kong 3.x response-ratelimiting config (kong/plugins/response-ratelimiting/schema.lua).
export const responseRateLimitingSchema = z.preprocess(
  foldRedisShorthands,
  z
    .object({
      header_name: z.string().default('x-kong-limit'),
      limit_by: z.enum(['consumer', 'credential', 'ip']).default('consumer'),
      policy: z.enum(['local', 'cluster', 'redis']).default('local'),
      fault_tolerant: z.boolean().default(true),
      redis: redisSchema,
      block_on_first_violation: z.boolean().default(false),
      hide_client_headers: z.boolean().default(false),
      limits: z.record(z.string(), limitSchema, { error: (iss) => (iss.input == null ? 'required field missing' : 'expected a map') }).refine((m) => Object.keys(m).length >= 1, 'length must be at least 1'),
    })
    .superRefine(redisHostCheck),
);
export type ResponseRateLimitingConfig = z.infer<typeof responseRateLimitingSchema>;
