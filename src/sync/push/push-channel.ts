// A control plane's push stream to one data plane (/gossamer/push/2.0.0), kept open: a change
// is one write on it. Opened on the first message (and again after it dropped); messages sent
// while it opens wait in order. What is queued is written as one chunk: a burst of changes
// becomes one yamux frame. A data plane that stops reading (hung, far behind) lets the queue
// of an open stream grow to MAX_QUEUED: the stream is then dropped with what it held, and the
// data plane repairs by asking, as it does for anything it missed.
import type { Stream } from '@libp2p/interface';
import { pushFrame } from './protocol.ts';

/** Messages waiting on one channel beyond which its data plane counts as not reading. */
export const MAX_QUEUED = 256;

const writable = (s: Stream): boolean => s.status === 'open' && s.writeStatus === 'writable';

export class PushChannel {
  private queue: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private stream: Stream | null = null;
  private opening = false;
  private closed = false;

  /**
   * `open` dials if needed and opens a stream; `onError` hears why one failed or dropped (the
   * messages it held are lost to this path).
   */
  constructor(
    private readonly open: () => Promise<Stream>,
    private readonly onError: (err: Error) => void,
    private readonly maxQueued = MAX_QUEUED,
  ) {}

  /** Queue one message; false when the data plane stopped reading (the message is dropped). */
  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    // While a stream opens, what waits is bounded by the open's timeout; past it, a full
    // queue means the open stream's writes are stuck: the data plane is not reading.
    if (this.stream && this.queue.length >= this.maxQueued) {
      this.drop(new Error(`${this.maxQueued} pushes queued: the data plane is not reading`));
      return false;
    }
    this.queue.push(pushFrame(bytes));
    // A stream whose connection closed may not have emitted its close event yet: replace it now rather
    // than hand it a message it can no longer deliver.
    if (this.stream && !writable(this.stream)) {
      this.stream = null;
      this.wake?.(); // its writer sees it is no longer the channel's stream and ends
    }
    if (this.stream) this.wake?.();
    else if (!this.opening) void this.connect();
    return true;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    const s = this.stream;
    this.stream = null;
    this.wake?.();
    void s?.close().catch(() => s.abort(new Error('push channel closed')));
  }

  private async connect(): Promise<void> {
    this.opening = true;
    let stream: Stream;
    try {
      stream = await this.open();
    } catch (err) {
      this.queue = [];
      this.onError(err as Error);
      return;
    } finally {
      this.opening = false;
    }
    if (this.closed) {
      stream.abort(new Error('push channel closed'));
      return;
    }
    this.stream = stream;
    // The stream ends on its own when its connection closes or the data plane resets it.
    stream.addEventListener('close', (evt) => this.ended(stream, evt.error ?? null), { once: true });
    this.write(stream).catch((err: Error) => {
      stream.abort(err);
      this.ended(stream, err);
    });
  }

  private ended(stream: Stream, err: Error | null): void {
    if (this.stream !== stream) return;
    this.stream = null;
    if (err) this.onError(err);
    // Messages queued as it dropped go out on a new stream (one try: a failed open drops them).
    if (this.queue.length && !this.closed) void this.connect();
  }

  private drop(err: Error): void {
    this.queue = [];
    const s = this.stream;
    this.stream = null;
    this.wake?.();
    s?.abort(err);
    this.onError(err);
  }

  /** Writes what is queued while `stream` is the channel's stream, waiting on its backpressure; closes it once replaced. */
  private async write(stream: Stream): Promise<void> {
    for (;;) {
      if (this.stream !== stream) {
        if (stream.status === 'open') await stream.close();
        return;
      }
      if (this.queue.length) {
        const out = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
        this.queue = [];
        if (!stream.send(out)) await stream.onDrain();
        continue;
      }
      // Calling a resolver twice is harmless: no need to clear it.
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}
