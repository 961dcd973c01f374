// The latency of `--net zones`: one small TCP relay per node, inside the node's network
// namespace, in front of its cluster port. Peers dial the node's advertised address
// (127.201.K.i:port), where this relay listens; it forwards to the node's real listener on the
// namespace's own 127.0.0.1:port and holds every chunk, both ways, for the one-way delay between
// the sender's zone and this node's zone, known from the sender's source address.
//
// Written by hand on node:net because nothing does this here: the kernels of these machines have
// no `netem` qdisc (tbf and htb only shape rate, they add no fixed delay), and the TCP proxies on
// npm (toxiproxy clients, tcp-proxy, http-proxy) delay every connection alike, not by the zone of
// the peer that opened it.
//
// Self-contained (node:net only): the harness compiles it to plain JavaScript once (esbuild) and
// runs it with `node`, so 50 relays do not each pay for the tsx loader.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RelaySpec {
  listen: { host: string; port: number };
  target: { host: string; port: number };
  /** Zone of every node address; a source not listed (the simulator, 127.0.0.1) gets no delay. */
  zoneOf: Record<string, number>;
  myZone: number;
  /** One-way delay inside a zone, and across zones (± jitter, uniform), in ms. */
  inMs: number;
  crossMs: number;
  jitterMs: number;
  /** The simulator's pid: when it dies (even by SIGKILL) the relay is re-parented and exits. */
  parent: number;
}

type Item = Buffer | 'end' | 'reset';

/** Upper bound of bytes held per direction before the sender is paused (TCP's own window does the rest). */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

/**
 * One direction of a relayed connection: a FIFO with one timer, so chunks leave in order even
 * with jitter (a chunk never overtakes the one before it, as on a real TCP path).
 */
export class DelayLine {
  private readonly q: { at: number; item: Item }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private held = 0;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly delay: () => number,
  ) {
    dst.on('drain', () => this.flow());
  }

  push(item: Item): void {
    const at = Math.max(performance.now() + this.delay(), this.last);
    this.last = at;
    this.q.push({ at, item });
    if (Buffer.isBuffer(item)) this.held += item.length;
    if (this.held + this.dst.writableLength > HIGH_WATER) this.src.pause();
    this.pump();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.q.length = 0;
  }

  private pump(): void {
    if (this.timer) return;
    // Within half a millisecond counts as due: an in-zone delay below the timer resolution
    // is the relay hop itself (~0.1-0.3 ms through user space).
    while (this.q.length && this.q[0]!.at <= performance.now() + 0.5) {
      const { item } = this.q.shift()!;
      if (item === 'end') this.dst.end();
      else if (item === 'reset') this.dst.resetAndDestroy();
      else {
        this.held -= item.length;
        if (!this.dst.destroyed) this.dst.write(item);
      }
    }
    if (this.q.length) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.max(1, this.q[0]!.at - performance.now()));
    }
    this.flow();
  }

  private flow(): void {
    if (this.src.isPaused() && this.held + this.dst.writableLength < LOW_WATER) this.src.resume();
  }
}

/** The one-way delay (ms) for traffic from `source`, drawn per chunk. */
export function delayFor(spec: RelaySpec, source: string): () => number {
  const zone = spec.zoneOf[source.replace(/^::ffff:/, '')];
  if (zone === undefined) return () => 0;
  if (zone === spec.myZone) return () => spec.inMs;
  return () => Math.max(0, spec.crossMs + (Math.random() * 2 - 1) * spec.jitterMs);
}

function relay(spec: RelaySpec, client: net.Socket): void {
  const delay = delayFor(spec, client.remoteAddress ?? '');
  const up = net.connect({ host: spec.target.host, port: spec.target.port, allowHalfOpen: true, noDelay: true });
  client.setNoDelay(true);
  const toNode = new DelayLine(client, up, delay);
  const toPeer = new DelayLine(up, client, delay);
  client.on('data', (c: Buffer) => toNode.push(c));
  up.on('data', (c: Buffer) => toPeer.push(c));
  client.on('end', () => toNode.push('end'));
  up.on('end', () => toPeer.push('end'));
  // A reset travels with the same latency as data, and so does the refusal of a node that is not
  // listening (killed): the dialer sees its connection reset one crossing later.
  client.on('error', () => toNode.push('reset'));
  up.on('error', () => toPeer.push('reset'));
  client.on('close', () => setTimeout(() => up.destroy(), 5_000).unref());
  up.on('close', () => setTimeout(() => client.destroy(), 5_000).unref());
}

export function runRelay(spec: RelaySpec): net.Server {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => relay(spec, c));
  server.on('error', (err) => {
    process.stderr.write(`zone relay ${spec.listen.host}:${spec.listen.port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(spec.listen.port, spec.listen.host, () => process.stdout.write('ready\n'));
  setInterval(() => {
    if (process.ppid !== spec.parent) process.exit(0);
  }, 1000).unref();
  return server;
}

if (process.argv[2]?.startsWith('{')) runRelay(JSON.parse(process.argv[2]) as RelaySpec);
