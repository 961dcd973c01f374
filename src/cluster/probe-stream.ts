import type { PeerId, Stream } from '@libp2p/interface';
import type { ClusterLibp2p } from './host.ts';

// A direct probe on a stream kept open per member. libp2p's ping service opens a yamux stream
// and negotiates the protocol (multistream-select) for every ping: three extra messages and
// most of a probe's CPU. The ping protocol itself echoes 32-byte payloads for as long as the
// stream stays open, so a kept stream makes a probe one payload each way. The responder closes
// a stream that stays idle for its ping timeout (10 s); the next probe just opens another.

const PING_LENGTH = 32;

/** The write half: a queue the stream's sink drains (a libp2p stream takes one sink for its life). */
class Outbox implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

export class ProbeStream {
  private readonly reader: AsyncIterator<{ subarray(): Uint8Array }>;
  private pending = new Uint8Array(0);
  busy = false;

  private constructor(
    private readonly stream: Stream,
    private readonly outbox: Outbox,
  ) {
    this.reader = stream.source[Symbol.asyncIterator]();
  }

  static async open(libp2p: ClusterLibp2p, peer: PeerId, signal: AbortSignal): Promise<ProbeStream> {
    const protocol = (libp2p.services.ping as unknown as { protocol: string }).protocol;
    const stream = await libp2p.dialProtocol(peer, protocol, { signal, runOnLimitedConnection: false });
    const outbox = new Outbox();
    void stream.sink(outbox).catch(() => {});
    return new ProbeStream(stream, outbox);
  }

  get open(): boolean {
    return this.stream.status === 'open' && this.stream.readStatus === 'ready' && (this.stream.writeStatus === 'writing' || this.stream.writeStatus === 'ready');
  }

  /** One echo; resolves with the round trip in ms. On failure the stream is dropped. */
  async ping(signal: AbortSignal): Promise<number> {
    this.busy = true;
    const onAbort = () => this.abort(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH));
      const start = Date.now();
      this.outbox.push(data);
      const echo = await this.read(PING_LENGTH);
      if (signal.aborted) throw new Error('timed out');
      for (let i = 0; i < PING_LENGTH; i++) if (echo[i] !== data[i]) throw new Error('wrong ping echo');
      return Date.now() - start;
    } catch (err) {
      this.abort(err as Error);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.busy = false;
    }
  }

  private async read(n: number): Promise<Uint8Array> {
    while (this.pending.length < n) {
      const r = await this.reader.next();
      if (r.done) throw new Error('probe stream closed by the peer');
      const chunk = r.value.subarray();
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending);
      joined.set(chunk, this.pending.length);
      this.pending = joined;
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  abort(err: Error): void {
    this.outbox.end();
    if (this.stream.status === 'open') this.stream.abort(err);
  }
}
