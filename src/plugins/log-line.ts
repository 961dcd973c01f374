// A log entry on its way to a collector, as UTF-8 bytes in two parts: the head written for this
// request, and the tail (route, service and consumer) that every request of the same route and
// consumer repeats. The tail's bytes are encoded once and copied into each batch: a batch then
// costs one copy of them instead of joining and encoding about a kilobyte of the same text per
// entry. The head is encoded when it is written, while its pieces are fresh: kept as a string
// until the batch, it would be a tree of a hundred pieces that the collector outlives in memory.
import { jsonOf } from './log-serializer.ts';

export interface EntryTail {
  readonly text: string;
  readonly bytes: Buffer;
}

export interface LogLine {
  readonly head: Buffer;
  readonly tail: EntryTail;
  /** Length of the whole text (head and tail): what the queue's max_bytes counts. */
  readonly length: number;
}

/** The tail of an entry kept whole in its head (one that took the object path). */
export const EMPTY_TAIL: EntryTail = { text: '', bytes: Buffer.alloc(0) };

const NONE = {};
/** route (or NONE) → service (or NONE) → consumer (or NONE) → tail. Entities are replaced, never changed. */
const tails = new WeakMap<object, Map<object, Map<object, EntryTail>>>();

function tailText(route: object | null, service: object | null, consumer: object | null): string {
  let t = '';
  if (route) t += `,"route":${jsonOf(route)}`;
  if (service) t += `,"service":${jsonOf(service)}`;
  if (consumer) t += `,"consumer":${jsonOf(consumer)}`;
  return `${t}}`;
}

/** `,"route":...,"service":...,"consumer":...}` of a request: what closes its entry. */
export function tailOf(route: object | null, service: object | null, consumer: object | null): EntryTail {
  const r = route ?? NONE;
  let byService = tails.get(r);
  if (byService === undefined) tails.set(r, (byService = new Map()));
  let byConsumer = byService.get(service ?? NONE);
  if (byConsumer === undefined) {
    // A route outliving many configurations' service objects: start over rather than keep them.
    if (byService.size > 100) byService.clear();
    byService.set(service ?? NONE, (byConsumer = new Map()));
  }
  let tail = byConsumer.get(consumer ?? NONE);
  if (tail === undefined) {
    const text = tailText(route, service, consumer);
    tail = { text, bytes: Buffer.from(text) };
    if (byConsumer.size > 10_000) byConsumer.clear();
    byConsumer.set(consumer ?? NONE, tail);
  }
  return tail;
}

/** A line of `head` text and its tail. A head whose UTF-8 length is its length is ASCII: copied as is. */
export function lineOf(head: string, tail: EntryTail): LogLine {
  const bytes = Buffer.byteLength(head) === head.length ? Buffer.from(head, 'latin1') : Buffer.from(head, 'utf8');
  return { head: bytes, tail, length: head.length + tail.text.length };
}

/** The entry's JSON text. */
export function textOf(line: LogLine): string {
  return line.head.toString('utf8') + line.tail.text;
}

/**
 * The body of a batch: the entries as a JSON array when `array`, else the first entry alone
 * (the same bytes as Buffer.from of the joined text).
 */
export function linesBytes(lines: readonly LogLine[], array: boolean): Buffer {
  const n = array ? lines.length : Math.min(1, lines.length);
  let size = array ? n + 1 : 0;
  for (let i = 0; i < n; i++) size += lines[i]!.head.length + lines[i]!.tail.bytes.length;
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  if (array) buf[o++] = 0x5b; // [
  for (let i = 0; i < n; i++) {
    const line = lines[i]!;
    if (array && i > 0) buf[o++] = 0x2c; // ,
    o += line.head.copy(buf, o);
    o += line.tail.bytes.copy(buf, o);
  }
  if (array) buf[o++] = 0x5d; // ]
  return buf;
}
