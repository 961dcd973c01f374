// The buffered body phase: plugins that rewrite a whole body (request- / response-transformer)
// need it in memory. Only requests and responses that such a plugin asked for pass through
// here; everything else streams.
import type { IncomingMessage } from 'node:http';
import type { BodyTransform, ProxyContext } from './context.ts';

/** Reads a request body whole; rejects with code GOSSAMER_BODY_LIMIT past `limit` (> 0) bytes. */
export function readWholeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (limit > 0 && size > limit) {
        cleanup();
        reject(Object.assign(new Error('request body over the size limit'), { code: 'GOSSAMER_BODY_LIMIT' }));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAborted = (): void => onError(new Error('client closed the connection before sending its body'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onClose = (): void => {
      if (!req.complete) onAborted();
    };
    if (req.complete && req.readableEnded) return resolve(Buffer.alloc(0));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
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
