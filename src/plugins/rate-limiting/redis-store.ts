// Counters in Redis (`policy = redis`), shared by every node that names the same Redis. Kong
// reads the count from Redis in access and increments it in a timer after the request. Here a
// handler's access phase does not wait, so each process keeps the last total Redis gave it for
// a key and the increments it has not seen acknowledged: `get` is that sum, and every increment
// goes to Redis at once (INCRBY + PEXPIREAT, pipelined per tick) and brings the new total back,
// which also carries every other node's increments. Before a request is decided its keys are read
// from Redis (load: the plugin's access waits for it, as Kong's does for its GET; requests that
// arrive while a read of the same key is under way share it). What a node can let through beyond
// the limit is what it admits within one Redis round trip.
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
  private readonly loading = new Map<string, Promise<void>>();
  private scheduled = false;
  private readonly sweeper: NodeJS.Timeout;
  private wasDown = false;
  private readyWaiters: (() => void)[] = [];

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
      const w = this.readyWaiters;
      this.readyWaiters = [];
      for (const r of w) r();
    });
    client.on('error', (err: Error) => {
      // One line per outage, not one per reconnect attempt.
      if (!this.wasDown) this.log.error({ redis: this.where, err: err.message }, 'rate-limiting: Redis unreachable');
      this.wasDown = true;
      const w = this.readyWaiters;
      this.readyWaiters = [];
      for (const r of w) r();
    });
  }

  /** Down once a connection attempt failed; still connecting for the first time is not down. */
  failing(): boolean {
    return this.wasDown && this.client.status !== 'ready';
  }

  /** Resolves once connected (or known down): the first requests wait for the first connection. */
  private connected(): Promise<void> {
    if (this.client.status === 'ready' || this.wasDown) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  get(key: string, _expiresAt: number): number {
    const c = this.cells.get(key);
    return c ? c.base + c.inflight + c.pending : 0;
  }

  load(keys: [string, number][]): Promise<void> | null {
    if (this.failing()) return null;
    let missing: [string, number][] | null = null;
    const waits: Promise<void>[] = [];
    for (const k of keys) {
      // Requests arriving while a read of the key is under way share it.
      const w = this.loading.get(k[0]);
      if (w) waits.push(w);
      else (missing ??= []).push(k);
    }
    if (missing !== null) waits.push(this.fetch(missing));
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  /** MGET the keys; a key Redis does not have is at 0. An error leaves them as they were. */
  private fetch(keys: [string, number][]): Promise<void> {
    const p = this.connected().then(() => this.client.mget(keys.map(([k]) => PREFIX + k))).then(
      (values) => {
        keys.forEach(([k, expiresAt], i) => {
          const v = values[i];
          const c = this.cells.get(k);
          const total = v === null || v === undefined ? 0 : Number(v);
          // Increments in flight may or may not be in what Redis answered: counted once, on top.
          if (!c) this.cells.set(k, { base: total, inflight: 0, pending: 0, expiresAt });
          else c.base = Math.max(c.base, total - c.inflight);
        });
      },
      () => undefined,
    ).finally(() => {
      for (const [k] of keys) this.loading.delete(k);
    });
    for (const [k] of keys) this.loading.set(k, p);
    return p;
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

  private flush(): void {
    this.scheduled = false;
    if (this.client.status !== 'ready' && !this.wasDown) {
      // The first connection is still being made: send once it is.
      this.scheduled = true;
      void this.connected().then(() => this.flush());
      return;
    }
    if (this.client.status !== 'ready') {
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
