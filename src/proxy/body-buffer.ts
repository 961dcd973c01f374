// The buffered body phase: plugins that rewrite a whole body (request or response)
// need it in memory. Only requests and responses that such a plugin asked for pass through
// here; everything else streams.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { BodyTransform, ProxyContext } from './context.ts';

/**
 * What readBodyUpTo found: the whole body, or, for a body over the buffer, the chunks read so
 * far; the rest is still in the (paused) request and `bodyWithHead` sends both.
 */
export type BodyRead = { whole: Buffer; head: null } | { whole: null; head: Buffer[] };

/**
 * Reads a request body whole if it fits in `buffer` bytes (nginx_http_client_body_buffer_size).
 * A larger one is not held: reading stops at the first chunk past the buffer, and the body
 * then streams on unchanged, as Kong's plugins do not see a body nginx spooled to disk.
 * Rejects with code GOSSAMER_BODY_LIMIT past `limit` (> 0) bytes (413 for the caller).
 */
export function readBodyUpTo(req: IncomingMessage, buffer: number, limit: number): Promise<BodyRead> {
  // A declared length over the buffer: nothing to read here, it all streams (and is counted).
  if (Number(req.headers['content-length']) > buffer) return Promise.resolve({ whole: null, head: [] });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      chunks.push(c);
      if (limit > 0 && size > limit) {
        cleanup();
        reject(Object.assign(new Error('request body over the size limit'), { code: 'GOSSAMER_BODY_LIMIT' }));
      } else if (size > buffer) {
        cleanup();
        req.pause();
        resolve({ whole: null, head: chunks });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), head: null });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error('client closed the connection before sending its body'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    if (req.complete && req.readableEnded) return resolve({ whole: Buffer.alloc(0), head: null });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The chunks readBodyUpTo kept, then the rest of the request, as one stream. */
export function bodyWithHead(head: Buffer[], req: IncomingMessage): Readable {
  if (head.length === 0) return req;
  return Readable.from(
    (async function* () {
      yield* head;
      yield* req;
    })(),
    { objectMode: false },
  );
}

/**
 * Before an answer that does not forward the body (a plugin's 401, a 503...): the rest of a
 * body read in part and paused (over the buffer) is read away, as Node does for a body nobody
 * read, or the next request on this keep-alive connection would wait behind it. Not for a
 * 413: that answer closes the connection instead of reading on.
 */
export function discardUnsentBody(ctx: ProxyContext, status: number): void {
  if (status !== 413 && ctx.requestBodyHead !== null && !ctx.req.readableEnded) ctx.req.resume();
}

/** Runs the transforms in order; null when none of them changed the body. */
export function transformBody(transforms: BodyTransform[], body: Buffer, ctx: ProxyContext): Buffer | null {
  let changed: Buffer | null = null;
  for (const t of transforms) {
    const next = t(changed ?? body, ctx);
    if (next !== null) changed = next;
  }
  return changed;
}
