// Reading and writing libp2p streams (libp2p 3: a stream is an EventTarget of 'message' events
// with a synchronous send(), no longer a source/sink pair of async iterables).
//
// Reading goes through chunks() rather than the stream's own async iterator: that iterator ends
// on the 'remoteCloseWrite' event, which fires only once; a handler that starts reading after
// the request and its end already arrived (they wait in the stream's buffer) would wait
// forever. chunks() ends on 'end' or on `readableEnded` with nothing left in the buffer. The
// latter also covers bytes handed back after 'end': protocol selection reads ahead and pushes
// back what it did not use, so a response that arrived whole with the selection's answer is
// delivered after its 'end' already fired.
import type { MessageStream, Stream } from '@libp2p/interface';

type Bytes = Uint8Array | { subarray(): Uint8Array };
const bytesOf = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : b.subarray());

/** The bytes `stream` receives until the remote closes its write half; throws if the stream is aborted or reset. */
export async function* chunks(stream: MessageStream): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let done = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    wake?.();
    wake = null;
  };
  const onMessage = (evt: { data: Bytes }) => {
    queue.push(bytesOf(evt.data));
    if (stream.readableEnded && stream.readBufferLength === 0) done = true;
    signal();
  };
  const onEnd = () => {
    done = true;
    signal();
  };
  const onClose = (evt: { error?: Error }) => {
    if (evt.error) failure = evt.error;
    done = true;
    signal();
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('end', onEnd);
  stream.addEventListener('close', onClose);
  // Already over before this reader came (nothing left in its buffer to hand out).
  if (stream.readableEnded && stream.readBufferLength === 0) {
    done = true;
    if (stream.status === 'aborted' || stream.status === 'reset') failure = new Error(`stream ${stream.status}`);
  }
  try {
    for (;;) {
      if (queue.length) {
        yield queue.shift()!;
        continue;
      }
      if (failure) throw failure;
      if (done) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('end', onEnd);
    stream.removeEventListener('close', onClose);
  }
}

/** Everything `stream` receives until the remote's end, at most `limit` bytes; `signal` aborts the stream. */
export async function readAll(stream: MessageStream, limit: number, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const onAbort = () => stream.abort(new Error('timed out'));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const bytes of chunks(stream)) {
      size += bytes.length;
      if (size > limit) throw new Error(`message larger than ${limit} bytes`);
      parts.push(bytes);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, size);
}

/** Send `bytes`, waiting for the stream to drain when its buffer is full (backpressure). */
export async function write(stream: MessageStream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain({ signal });
}

/** One whole message: send it and close the write half (the end marks the message's end). */
export async function writeAll(stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  await write(stream, bytes, signal);
  await stream.close({ signal });
}
