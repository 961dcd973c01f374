// Where the rate-limiting plugins count, by Kong's `policy`: `local` in the node's counters
// (shared by its workers), `cluster` in the same counters under keys the node shares with every
// member by gossip (src/sync/counters/), `redis` in Redis (redis-store.ts).
import type { Logger } from 'pino';
import type { ProxyContext } from '../../proxy/context.ts';
import { CLUSTER_COUNTER_PREFIX, type CounterStore, type PluginEnv } from '../types.ts';
import type { RedisConfig } from '../redis-config.ts';
import { redisStore } from './redis-store.ts';

export type LimitStore = CounterStore;

/** The counter key of a limit: shared keys carry the limit (`cluster|<limit>|<key>`), which the node's sharing reads. */
export function limitKey(policy: 'local' | 'cluster' | 'redis', key: string, limit: number): string {
  return policy === 'cluster' ? `${CLUSTER_COUNTER_PREFIX}${limit}|${key}` : key;
}

export function limitStore(conf: { policy: 'local' | 'cluster' | 'redis'; redis: RedisConfig }, env: PluginEnv): LimitStore {
  return conf.policy === 'redis' ? redisStore(conf.redis, env.logger as Logger) : env.counters;
}

/**
 * Kong's fault_tolerant, for both rate-limiting plugins: true when the store cannot be reached,
 * after answering Kong's 500 when fault_tolerant is off (on, the request goes on unlimited).
 */
export function storeDown(ctx: ProxyContext, store: LimitStore, faultTolerant: boolean): boolean {
  if (!store.failing?.()) return false;
  if (!faultTolerant) ctx.exit(500, { message: 'An unexpected error occurred', request_id: ctx.requestId });
  return true;
}
