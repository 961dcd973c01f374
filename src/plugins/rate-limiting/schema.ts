import { z } from 'zod';
import { foldRedisShorthands, redisHostCheck, redisSchema } from '../redis-config.ts';

const limit = z.number().positive().nullable().default(null);

// Kong 3.x rate-limiting config with its defaults; the flat redis_* fields of older configs are
// folded into `redis` as Kong does.
export const rateLimitingSchema = z.preprocess(foldRedisShorthands, z
  .object({
    second: limit,
    minute: limit,
    hour: limit,
    day: limit,
    month: limit,
    year: limit,
    limit_by: z.enum(['consumer', 'credential', 'ip', 'service', 'header', 'path', 'consumer-group']).default('consumer'),
    header_name: z.string().nullable().default(null),
    path: z.string().nullable().default(null),
    policy: z.enum(['local', 'cluster', 'redis']).default('local'),
    fault_tolerant: z.boolean().default(true),
    hide_client_headers: z.boolean().default(false),
    error_code: z.number().int().default(429),
    error_message: z.string().default('API rate limit exceeded'),
    sync_rate: z.number().default(-1),
    redis: redisSchema,
  })
  .refine((c) => c.second || c.minute || c.hour || c.day || c.month || c.year, {
    message: 'at least one of these fields must be non-empty: \'config.second\', \'config.minute\', \'config.hour\', \'config.day\', \'config.month\', \'config.year\'',
  })
  .refine((c) => c.limit_by !== 'header' || !!c.header_name, { message: 'header_name is required when limit_by is header', path: ['header_name'] })
  .refine((c) => c.limit_by !== 'path' || !!c.path, { message: 'path is required when limit_by is path', path: ['path'] })
  .superRefine(redisHostCheck));
export type RateLimitingConfig = z.infer<typeof rateLimitingSchema>;
