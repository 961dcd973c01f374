// An access phase that reads the request body (key-auth key_in_body; Kong's
// kong.request.get_body() in access): the body is read whole into ctx.requestBody first, the
// forwarder then sends that buffer, and the request-transformer body rewrites that access
// asked for apply to it. Chains without such a plugin never come here and keep streaming.
import type { IncomingMessage } from 'node:http';
import type { ProxyContext } from './context.ts';
import { readWholeBody, transformBody } from './body-buffer.ts';
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
export async function accessWithBody(ctx: ProxyContext, chain: ChainEntry[]): Promise<boolean> {
  let body: Buffer;
  try {
    body = await readWholeBody(ctx.req, 0);
  } catch {
    return false;
  }
  ctx.requestBody = body;
  runAccess(ctx, chain);
  const transforms = ctx.requestBodyTransforms;
  if (ctx.exitStatus === 0 && transforms !== null) {
    // The forwarder only rewrites bodies it reads itself; this one is already in memory.
    const changed = transformBody(transforms, ctx.requestBody, ctx);
    if (changed !== null) {
      ctx.requestBody = changed;
      ctx.setRequestHeader('content-length', String(changed.length));
    }
  }
  return true;
}
