// Kong's plugin queue (kong/tools/queue.lua, `typedefs.queue`): log entries wait in memory and
// a background loop hands them to a sender in batches, retrying a failed batch with exponential
// back-off until max_retry_time, then dropping it. The queue is bounded by max_entries (and
// max_bytes when set): when full, the oldest entry is dropped, so a dead collector costs a
// fixed amount of memory and never slows a request. Every drop is counted (onDrop).
import { z } from 'zod';

/** Kong's queue_schema.lua with its defaults (seconds, as Kong's). */
export const queueSchema = z
  .object({
    max_batch_size: z.number().int().min(1).max(1_000_000).default(1),
    max_coalescing_delay: z.number().min(0).max(3600).default(1),
    max_entries: z.number().int().min(1).max(1_000_000).default(10_000),
    max_bytes: z.number().int().nullable().default(null),
    max_retry_time: z.number().default(60),
    initial_retry_delay: z.number().min(0.001).max(1_000_000).default(0.01),
    max_retry_delay: z.number().min(0.001).max(1_000_000).default(60),
    concurrency_limit: z.union([z.literal(-1), z.literal(1)]).default(1),
  })
  .default({
    max_batch_size: 1,
    max_coalescing_delay: 1,
    max_entries: 10_000,
    max_bytes: null,
    max_retry_time: 60,
    initial_retry_delay: 0.01,
    max_retry_delay: 60,
    concurrency_limit: 1,
  });
export type QueueParams = z.infer<typeof queueSchema>;

export type DropReason = 'queue_full' | 'retries_exhausted';

export interface QueueHooks<E> {
  /** Deliver one batch; a rejection is retried. */
  send(entries: E[]): Promise<void>;
  onDrop(count: number, reason: DropReason, detail: string): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Entries are the serialized text (or an object that knows its text's length): max_bytes counts that. */
export class LogQueue<E extends { readonly length: number } = string> {
  private entries: E[] = [];
  private bytes = 0;
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private firstQueuedAt = 0;

  constructor(
    readonly name: string,
    private params: QueueParams,
    private hooks: QueueHooks<E>,
  ) {}

  /** Entries waiting (tests, metrics). */
  get size(): number {
    return this.entries.length;
  }

  enqueue(entry: E): void {
    const p = this.params;
    let dropped = 0;
    while (this.entries.length >= p.max_entries || (p.max_bytes !== null && this.entries.length > 0 && this.bytes + entry.length > p.max_bytes)) {
      this.bytes -= this.entries.shift()!.length;
      dropped++;
    }
    if (dropped) this.hooks.onDrop(dropped, 'queue_full', `queue ${this.name} full, ${dropped} oldest entries dropped`);
    if (this.entries.length === 0) this.firstQueuedAt = Date.now();
    this.entries.push(entry);
    this.bytes += entry.length;
    this.schedule();
  }

  /** Start a batch now when one is due, else arm the coalescing timer. */
  private schedule(): void {
    const p = this.params;
    if (this.entries.length === 0) return;
    if (p.concurrency_limit === 1 && this.running > 0) return;
    const waited = Date.now() - this.firstQueuedAt;
    if (this.entries.length >= p.max_batch_size || waited >= p.max_coalescing_delay * 1000) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.startBatch();
      return;
    }
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, p.max_coalescing_delay * 1000 - waited);
      this.timer.unref();
    }
  }

  private startBatch(): void {
    const batch = this.entries.splice(0, this.params.max_batch_size);
    for (const e of batch) this.bytes -= e.length;
    if (this.entries.length > 0) this.firstQueuedAt = Date.now();
    this.running++;
    void this.deliver(batch).finally(() => {
      this.running--;
      this.schedule();
    });
    // Kong's concurrency_limit = -1: every batch goes at once, without waiting for the last.
    if (this.params.concurrency_limit === -1 && this.entries.length >= this.params.max_batch_size) this.schedule();
  }

  /** Send one batch, retrying with back-off (Kong's process_once). */
  private async deliver(batch: E[]): Promise<void> {
    const p = this.params;
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.hooks.send(batch);
        return;
      } catch (err) {
        if (p.max_retry_time < 0 || (Date.now() - start) / 1000 > p.max_retry_time) {
          this.hooks.onDrop(batch.length, 'retries_exhausted', `could not send entries due to max_retry_time exceeded. ${batch.length} queue entries were lost: ${(err as Error).message}`);
          return;
        }
        await sleep(Math.min(p.max_retry_delay, 2 ** attempt * p.initial_retry_delay) * 1000);
      }
    }
  }
}
