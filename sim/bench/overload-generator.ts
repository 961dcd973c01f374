// The open-loop generator of bench:overload, in a process of its own (the bench pins it to a core
// apart from the node's). Usage: overload-generator.ts <host> <port> <rate> <seconds> <connections> <timeoutS>
//
// Why raw sockets and pipelining instead of undici: an undici request costs the generator about
// as much CPU as the node spends proxying it, so a generator on one core could offer only ~5,500
// req/s, a third of one node's capacity. Here a request is a pre-built buffer written on one of
// `connections` keep-alive connections on schedule, whether or not the earlier ones were answered
// (HTTP/1.1 pipelining): what is due is written, nothing is shed by the generator, and the node
// sees the whole offered rate. Answers come back in order per connection, so each one is matched
// with its send time. A client does not wait forever: a connection whose oldest unanswered request
// is older than `timeoutS` is closed (its unanswered requests count as timed out) and replaced, as
// real clients behind a timeout do. Prints one JSON line when done.
import net from 'node:net';

const [host, portS, rateS, secondsS, connectionsS, timeoutS] = process.argv.slice(2);
const port = Number(portS);
const rate = Number(rateS);
const seconds = Number(secondsS);
const connections = Number(connectionsS ?? 256);
const timeoutMs = Number(timeoutS ?? 10) * 1000;
const REQUEST = Buffer.from(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: gossamer-overload\r\n\r\n`);
const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

interface Conn {
  socket: net.Socket;
  buf: Buffer;
  /** Send times of the unanswered requests, oldest first. */
  sent: number[];
  head: number;
  closed: boolean;
}

const counts = { offered: 0, served: 0, non200: 0, timedOut: 0, closedUnanswered: 0, reconnects: 0 };
const latencies: number[] = [];
const servedPerSecond: number[] = [];
const start = performance.now();

function record(c: Conn, status: number): void {
  const t = c.sent[c.head++]!;
  if (c.head > 1024) {
    c.sent = c.sent.slice(c.head);
    c.head = 0;
  }
  const second = Math.floor((performance.now() - start) / 1000);
  servedPerSecond[second] = (servedPerSecond[second] ?? 0) + 1;
  if (status === 200) {
    counts.served++;
    latencies.push(performance.now() - t);
  } else counts.non200++;
}

/** Length of the first complete answer in `buf`, or -1 while it is incomplete. */
function answerLength(buf: Buffer): { length: number; status: number; close: boolean } | null {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/.test(head);
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) {
    const length = headEnd + 4 + Number(cl[1]);
    return buf.length >= length ? { length, status, close } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
    const end = buf.indexOf(CHUNKED_END, headEnd + 2);
    return end < 0 ? null : { length: end + CHUNKED_END.length, status, close };
  }
  return { length: headEnd + 4, status, close };
}

function onData(c: Conn, data: Buffer): void {
  c.buf = c.buf.length ? Buffer.concat([c.buf, data]) : data;
  for (;;) {
    const a = answerLength(c.buf);
    if (!a) return;
    c.buf = c.buf.subarray(a.length);
    if (c.head < c.sent.length) record(c, a.status);
    if (a.close) return replace(c, 'closedUnanswered');
  }
}

function open(): Conn {
  const c: Conn = { socket: net.connect({ host, port, noDelay: true }), buf: Buffer.alloc(0), sent: [], head: 0, closed: false };
  c.socket.on('data', (d: Buffer) => onData(c, d));
  c.socket.on('error', () => {});
  c.socket.on('close', () => replace(c, 'closedUnanswered'));
  return c;
}

const pool: Conn[] = Array.from({ length: connections }, open);

/** Drops a connection (its unanswered requests counted under `why`) and opens another in its place. */
function replace(c: Conn, why: 'timedOut' | 'closedUnanswered'): void {
  if (c.closed) return;
  c.closed = true;
  counts[why] += c.sent.length - c.head;
  c.socket.destroy();
  const i = pool.indexOf(c);
  if (i >= 0 && running) {
    counts.reconnects++;
    pool[i] = open();
  }
}

let running = true;
let next = 0;
const expiry = setInterval(() => {
  const now = performance.now();
  for (const c of pool) if (c.head < c.sent.length && now - c.sent[c.head]! > timeoutMs) replace(c, 'timedOut');
}, 250);

function tick(): void {
  const now = performance.now();
  if (now - start >= seconds * 1000) return finish();
  const due = Math.floor(((now - start) / 1000) * rate) - counts.offered;
  // Each connection gets its share of this tick's requests in one write.
  const perConn = new Map<Conn, number>();
  for (let i = 0; i < due; i++) {
    const c = pool[next++ % pool.length]!;
    perConn.set(c, (perConn.get(c) ?? 0) + 1);
  }
  for (const [c, n] of perConn) {
    for (let i = 0; i < n; i++) c.sent.push(now);
    c.socket.write(n === 1 ? REQUEST : Buffer.concat(Array.from({ length: n }, () => REQUEST)));
  }
  counts.offered += due;
  setImmediate(tick);
}

function finish(): void {
  running = false;
  clearInterval(expiry);
  // Answers still due get a moment to arrive; what is still unanswered then counts as timed out.
  setTimeout(() => {
    for (const c of pool) replace(c, 'timedOut');
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]! : 0);
    console.log(JSON.stringify({ ...counts, offeredRate: counts.offered / seconds, p50: pct(50), p99: pct(99), servedPerSecond: servedPerSecond.map((x) => x ?? 0) }));
    process.exit(0);
  }, 2000);
}

tick();
