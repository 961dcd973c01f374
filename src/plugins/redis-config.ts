// Kong's `redis` record of the rate-limiting plugins (kong/tools/redis/schema.lua) and the
// deprecated flat `redis_*` fields Kong 3 still accepts (its shorthand_fields), folded into the
// record, so configurations written for Kong 2.x or 3.x load unchanged.
import { z } from 'zod';

export const redisSchema = z
  .object({
    host: z.string().nullable().default(null),
    port: z.number().int().min(0).max(65535).default(6379),
    timeout: z.number().int().min(0).max(2 ** 31 - 2).default(2000),
    username: z.string().nullable().default(null),
    password: z.string().nullable().default(null),
    database: z.number().int().default(0),
    ssl: z.boolean().default(false),
    ssl_verify: z.boolean().default(false),
    server_name: z.string().nullable().default(null),
  })
  .default({ host: null, port: 6379, timeout: 2000, username: null, password: null, database: 0, ssl: false, ssl_verify: false, server_name: null });
export type RedisConfig = z.infer<typeof redisSchema>;

const SHORTHANDS = ['host', 'port', 'timeout', 'username', 'password', 'database', 'ssl', 'ssl_verify', 'server_name'] as const;

/** `redis_host: x` → `redis: { host: x }` (the flat field wins only where the record has no value). */
export function foldRedisShorthands(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const conf = { ...(input as Record<string, unknown>) };
  const redis = { ...((conf['redis'] as Record<string, unknown> | null | undefined) ?? {}) };
  let folded = false;
  for (const f of SHORTHANDS) {
    const flat = `redis_${f}`;
    if (!(flat in conf)) continue;
    if (conf[flat] !== null && conf[flat] !== undefined && redis[f] === undefined) redis[f] = conf[flat];
    delete conf[flat];
    folded = true;
  }
  // Kong 2.x's redis_timeout had siblings (connect/send/read) Kong 3 no longer has.
  for (const gone of ['redis_connect_timeout', 'redis_send_timeout', 'redis_read_timeout']) delete conf[gone];
  if (folded) conf['redis'] = redis;
  return conf;
}

/** Kong's check: policy redis needs a host. */
export function redisHostCheck(c: { policy: string; redis: RedisConfig }, ctx: z.RefinementCtx): void {
  if (c.policy === 'redis' && !c.redis.host) ctx.addIssue({ code: 'custom', path: ['redis', 'host'], message: 'required field missing' });
}
