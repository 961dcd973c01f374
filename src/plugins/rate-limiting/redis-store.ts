// Counters in Redis (`policy = redis`), shared by every node that names the same Redis. Kong
// reads the count from Redis in access and increments it in a timer after the request. Here a
// handler's access phase does not wait, so each process keeps the last total Redis gave it for
// a key and the increments it has not seen acknowledged: `get` is that sum, and every increment
// goes to Redis at once (INCRBY + PEXPIREAT, pipelined per tick) and brings the new total back,
// which also carries every other node's increments. A key this process has not counted yet is
// fetched on first sight. What a node can let through beyond the limit is what it admits within
// one Redis round trip.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../redis-config.ts';
import type { CounterStore } from '../types.ts';

interface Cell {
  base: number;
  inflight: number;
  pending: number;
  expiresAt: number;
}

/** Keys in Redis are namespaced so a shared Redis can hold other data. */
const PREFIX = 'gossamer:ratelimit:';

export class RedisCounters implements CounterStore {
  private readonly cells = new Map<string, Cell>();
  private readonly dirty = new Set<string>();
  private readonly fetching = new Set<string>();
  private scheduled = false;
  private readonly sweeper: NodeJS.Timeout;
  private wasDown = false;

  constructor(
    private readonly client: Redis,
    private readonly log: Logger,
    private readonly where: string,
  ) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, c] of this.cells) if (c.expiresAt <= now) this.cells.delete(k);
    }, 1000);
    this.sweeper.unref();
    client.on('ready', () => {
      if (this.wasDown) this.log.info({ redis: this.where }, 'rate-limiting: Redis reachable again');
      this.wasDown = false;
    });
    client.on('error', (err: Error) => {
      // One line per outage, not one per reconnect attempt.
      if (!this.wasDown) this.log.error({ redis: this.where, err: err.message }, 'rate-limiting: Redis unreachable');
      this.wasDown = true;
    });
  }

  failing(): boolean {
    return this.client.status !== 'ready';
  }

  get(key: string, expiresAt: number): number {
    const c = this.cells.get(key);
    if (c) return c.base + c.inflight + c.pending;
    this.cells.set(key, { base: 0, inflight: 0, pending: 0, expiresAt });
    this.fetch(key);
    return 0;
  }

  incr(key: string, expiresAt: number, by: number): number {
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { base: 0, inflight: 0, pending: 0, expiresAt }));
    c.pending += by;
    this.dirty.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return c.base + c.inflight + c.pending;
  }

  private fetch(key: string): void {
    if (this.fetching.has(key) || this.failing()) return;
    this.fetching.add(key);
    this.client.get(PREFIX + key).then(
      (v) => {
        this.fetching.delete(key);
        const c = this.cells.get(key);
        // With increments in flight the GET may or may not count them: keep what the next INCRBY says.
        if (c && v !== null && c.inflight === 0) c.base = Math.max(c.base, Number(v));
      },
      () => this.fetching.delete(key),
    );
  }

  private flush(): void {
    this.scheduled = false;
    if (this.failing()) {
      // Redis is down: what was counted meanwhile is dropped, as Kong's failed increments are.
      for (const k of this.dirty) {
        const c = this.cells.get(k);
        if (c) c.pending = 0;
      }
      this.dirty.clear();
      return;
    }
    const keys = [...this.dirty];
    this.dirty.clear();
    const sent: number[] = [];
    const pipe = this.client.pipeline();
    for (const k of keys) {
      const c = this.cells.get(k)!;
      sent.push(c.pending);
      c.inflight += c.pending;
      c.pending = 0;
      pipe.incrby(PREFIX + k, sent[sent.length - 1]!);
      pipe.pexpireat(PREFIX + k, c.expiresAt);
    }
    pipe.exec().then(
      (results) => {
        keys.forEach((k, i) => {
          const c = this.cells.get(k);
          if (!c) return;
          c.inflight = Math.max(0, c.inflight - sent[i]!);
          const [err, total] = results?.[i * 2] ?? [new Error('no reply'), null];
          // Redis applies one connection's commands in order: the total counts this batch and
          // everything before it, not the batches still in flight or the pending increments.
          if (!err) c.base = Math.max(c.base, Number(total));
        });
      },
      () => {
        keys.forEach((k, i) => {
          const c = this.cells.get(k);
          if (c) c.inflight = Math.max(0, c.inflight - sent[i]!);
        });
      },
    );
  }

  close(): void {
    clearInterval(this.sweeper);
    this.client.disconnect();
  }
}

const stores = new Map<string, RedisCounters>();

function optionsOf(r: RedisConfig): RedisOptions {
  return {
    host: r.host ?? '127.0.0.1',
    port: r.port,
    db: r.database,
    ...(r.username ? { username: r.username } : {}),
    ...(r.password ? { password: r.password } : {}),
    ...(r.ssl ? { tls: { rejectUnauthorized: r.ssl_verify, ...(r.server_name ? { servername: r.server_name } : {}) } } : {}),
    connectTimeout: r.timeout,
    commandTimeout: r.timeout,
    // Fail at once while Redis is down instead of queueing commands behind the outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/** One client and counter set per Redis (and database, user) per process, shared by plugin instances. */
export function redisStore(r: RedisConfig, log: Logger): RedisCounters {
  const id = `${r.host}:${r.port}/${r.database}/${r.username ?? ''}/${r.ssl}`;
  let s = stores.get(id);
  if (!s) stores.set(id, (s = new RedisCounters(new Redis(optionsOf(r)), log, `${r.host}:${r.port}`)));
  return s;
}
