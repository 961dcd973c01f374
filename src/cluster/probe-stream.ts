import type { PeerId, Stream } from '@libp2p/interface';
import type { ClusterLibp2p } from './host.ts';
import { chunks } from './stream-io.ts';

// A direct probe on a stream kept open per member. libp2p's ping service opens a yamux stream
// and negotiates the protocol (multistream-select) for every ping: three extra messages and
// most of a probe's CPU. The ping protocol itself echoes 32-byte payloads for as long as the
// stream stays open, so a kept stream makes a probe one payload each way. The responder closes
// a stream that stays idle for its ping timeout (10 s); the next probe just opens another.

const PING_LENGTH = 32;

export class ProbeStream {
  private readonly reader: AsyncIterator<Uint8Array>;
  private pending = new Uint8Array(0);
  busy = false;

  private constructor(private readonly stream: Stream) {
    this.reader = chunks(stream);
  }

  static async open(libp2p: ClusterLibp2p, peer: PeerId, signal: AbortSignal): Promise<ProbeStream> {
    const protocol = (libp2p.services.ping as unknown as { protocol: string }).protocol;
    const stream = await libp2p.dialProtocol(peer, protocol, { signal, runOnLimitedConnection: false });
    return new ProbeStream(stream);
  }

  get open(): boolean {
    return this.stream.status === 'open' && this.stream.readStatus === 'readable' && this.stream.writeStatus === 'writable';
  }

  /** One echo; resolves with the round trip in ms. On failure the stream is dropped. */
  async ping(signal: AbortSignal): Promise<number> {
    this.busy = true;
    const onAbort = () => this.abort(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH));
      const start = Date.now();
      // 32 bytes never fill a stream's buffer: send() queues them whatever it returns.
      this.stream.send(data);
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
      const chunk = r.value;
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
    if (this.stream.status === 'open') this.stream.abort(err);
  }
}
