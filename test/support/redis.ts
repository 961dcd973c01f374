// The tests' Redis is the benchmarks' (sim/harness/redis.ts).
export { startRedis, type TestRedis } from '../../sim/harness/redis.ts';
