// An access phase that reads the request body (an auth plugin's key in the body; Kong's
// kong.request.get_body() in access): a body that fits nginx_http_client_body_buffer_size is
// read whole into ctx.requestBody first, the forwarder then sends that buffer, and the
// request body rewrites that access asked for apply to it. A larger body is not
// seen by the plugins and streams on unchanged. Chains without such a plugin never come here.
import type { IncomingMessage } from 'node:http';
import type { ProxyContext } from './context.ts';
import { readBodyUpTo, transformBody } from './body-buffer.ts';
import { errorBody, MSG } from './errors.ts';
import { runAccess, type ChainEntry } from './plugin-chain.ts';

export function chainNeedsBody(chain: ChainEntry[], ctx: ProxyContext): boolean {
  for (let i = 0; i < chain.length; i++) {
    const readers = chain[i]!.bodyReaders;
    if (readers !== null) for (const inst of readers) if (inst.needsBody!(ctx)) return true;
  }
  return false;
}

export function hasRequestBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return len !== undefined ? len !== '0' : req.headers['transfer-encoding'] !== undefined;
}

/** Reads the body, then runs the access phase. False when the client went away mid-body. */
export async function accessWithBody(ctx: ProxyContext, chain: ChainEntry[], bufferSize: number): Promise<boolean> {
  try {
    const r = await readBodyUpTo(ctx.req, bufferSize, ctx.requestBodyLimit);
    if (r.whole !== null) ctx.requestBody = r.whole;
    else ctx.requestBodyHead = r.head;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'GOSSAMER_BODY_LIMIT') return false;
    // nginx does not read the rest of a body it refuses: the connection closes after the answer.
    ctx.exit(413, errorBody(MSG.bodyTooLarge, ctx.requestId), ['connection', 'close']);
    return true;
  }
  await runAccess(ctx, chain);
  const transforms = ctx.requestBodyTransforms;
  if (ctx.exitStatus === 0 && transforms !== null && ctx.requestBody !== null) {
    // The forwarder only rewrites bodies it reads itself; this one is already in memory.
    const changed = transformBody(transforms, ctx.requestBody, ctx);
    if (changed !== null) {
      ctx.requestBody = changed;
      ctx.setRequestHeader('content-length', String(changed.length));
    }
  }
  return true;
}
