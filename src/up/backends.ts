// The balancer's rotation: which local nodes take traffic. Each node's Admin API `GET /status`
// is polled every interval (nginx's health checks in Kong's clustering tutorial); healthy nodes
// are handed out round-robin, and a refused connection takes a node out at once.
import { Pool, request } from 'undici';
import type { Logger } from '../log.ts';

export interface BalancerBackend {
  name: string;
  /** Base URL of the node's proxy, e.g. http://127.0.0.1:8100 */
  proxyUrl: string;
  /** The node's Admin API status URL, e.g. http://127.0.0.1:8101/status */
  statusUrl: string;
}

export interface BackendStats {
  name: string;
  proxyUrl: string;
  healthy: boolean;
  /** Requests answered by this backend (any status). */
  requests: number;
  /** Connection failures while forwarding to this backend. */
  failures: number;
  lastCheckAt: number | null;
  lastCheckError: string | null;
}

export interface Entry {
  backend: BalancerBackend;
  pool: Pool;
  healthy: boolean;
  requests: number;
  failures: number;
  lastCheckAt: number | null;
  lastCheckError: string | null;
  checking: boolean;
  consecutiveFails: number;
}

export interface BackendsOptions {
  /** How often every backend's status URL is polled. */
  intervalMs: number;
  /** A status check slower than this counts as failed. */
  checkTimeoutMs: number;
  /** Consecutive failed status checks before a node leaves the rotation (nginx's max_fails). */
  failsToDown: number;
  log?: Logger;
}

export const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

export function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? '';
}

function makeEntry(backend: BalancerBackend, healthy = false): Entry {
  return {
    backend,
    pool: new Pool(backend.proxyUrl, { connections: 64, keepAliveTimeout: 4_000 }),
    healthy,
    requests: 0,
    failures: 0,
    lastCheckAt: null,
    lastCheckError: null,
    checking: false,
    consecutiveFails: 0,
  };
}

export class Backends {
  private entries: Entry[] = [];
  private cursor = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private roundWaiters: (() => void)[] = [];

  constructor(private readonly o: BackendsOptions) {}

  /** Replace the set of backends; keeps the health of known names at the same URL. */
  set(backends: BalancerBackend[]): void {
    const old = new Map(this.entries.map((e) => [e.backend.name, e]));
    this.entries = backends.map((b) => {
      const prev = old.get(b.name);
      if (prev && prev.backend.proxyUrl === b.proxyUrl) {
        old.delete(b.name);
        prev.backend = b;
        return prev;
      }
      return makeEntry(b);
    });
    for (const gone of old.values()) void gone.pool.close().catch(() => {});
  }

  setHealth(e: Entry, healthy: boolean, why: string | null, immediate = true): void {
    // One slow status answer on a busy machine is not a dead node: only `failsToDown` in a row
    // (or a refused connection, which is certain) take it out.
    e.consecutiveFails = healthy ? 0 : e.consecutiveFails + 1;
    if (!healthy && !immediate && e.healthy && e.consecutiveFails < this.o.failsToDown) {
      e.lastCheckError = why;
      return;
    }
    if (e.healthy !== healthy) this.o.log?.info({ backend: e.backend.name, healthy, why }, healthy ? 'backend is up' : 'backend is down');
    e.healthy = healthy;
    e.lastCheckError = why;
  }

  private async checkOne(e: Entry): Promise<void> {
    if (e.checking) return;
    e.checking = true;
    const checkTimeout = this.o.checkTimeoutMs;
    try {
      const r = await request(e.backend.statusUrl, { headersTimeout: checkTimeout, bodyTimeout: checkTimeout, signal: AbortSignal.timeout(checkTimeout) });
      await r.body.dump();
      this.setHealth(e, r.statusCode === 200, r.statusCode === 200 ? null : `status ${r.statusCode}`, false);
    } catch (err) {
      const code = errorCode(err);
      this.setHealth(e, false, code || (err as Error).message, CONNECT_ERRORS.has(code));
    } finally {
      e.lastCheckAt = Date.now();
      e.checking = false;
    }
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.entries.map((e) => this.checkOne(e)));
    const waiters = this.roundWaiters;
    this.roundWaiters = [];
    for (const w of waiters) w();
  }

  /** Starts the status checks: one round now, the next `intervalMs` after each round ends. */
  readonly loop = async (): Promise<void> => {
    if (this.closed) return;
    await this.checkAll();
    if (!this.closed) this.timer = setTimeout(this.loop, this.o.intervalMs);
  };

  /** Healthy backends in round-robin order, starting after the last one used. */
  candidates(): Entry[] {
    const entries = this.entries;
    const n = entries.length;
    const start = this.cursor++ % Math.max(n, 1);
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) {
      const e = entries[(start + i) % n]!;
      if (e.healthy) out.push(e);
    }
    return out;
  }

  /**
   * nginx tries every server when all are marked down rather than refusing outright: a node
   * whose checks only timed out may just be slow (a busy machine), and a refused connection
   * is cheap to find out. A node that answered its check with a non-200 said it is not ready.
   */
  lastResort(): Entry[] {
    return this.entries.filter((e) => e.lastCheckAt !== null && !e.lastCheckError?.startsWith('status '));
  }

  stats(): BackendStats[] {
    return this.entries.map((e) => ({
      name: e.backend.name,
      proxyUrl: e.backend.proxyUrl,
      healthy: e.healthy,
      requests: e.requests,
      failures: e.failures,
      lastCheckAt: e.lastCheckAt,
      lastCheckError: e.lastCheckError,
    }));
  }

  /** Resolves after the next round of status checks. */
  checked(): Promise<void> {
    return new Promise<void>((resolve) => this.roundWaiters.push(resolve));
  }

  /** No more rounds (close() follows once the listener is closed). */
  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async close(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.pool.close().catch(() => {})));
    for (const w of this.roundWaiters) w();
    this.roundWaiters = [];
  }
}
