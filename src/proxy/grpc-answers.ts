// Kong's answers to gRPC clients (kong/pdk/response.lua `send` and `error`, kong/error_handlers.lua).
// A request is gRPC when it came over HTTP/2 with a Content-Type starting `application/grpc`.
// Kong keeps the HTTP status of its answer and adds `grpc-status` (mapped from it) and
// `grpc-message`, with an empty body: a gRPC client reads the status from these headers, which
// arrive as a trailers-only response (one HEADERS frame that ends the stream).
import type { ServerResponse } from 'node:http';
import type http2 from 'node:http2';
import type { ProxyContext } from './context.ts';
import { errorBody, sendJson } from './errors.ts';
import { SERVER } from './version.ts';

export const GRPC_TYPE = 'application/grpc';

/** Kong's HTTP_TO_GRPC_STATUS (kong/pdk/response.lua). */
const HTTP_TO_GRPC: Record<number, number> = { 200: 0, 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4 };

/** Kong's GRPC_MESSAGES: the message for a status when the answer names none. */
const GRPC_MESSAGES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];

/** The gRPC status Kong gives an HTTP status it answers with. */
export function grpcStatusOf(status: number): number {
  const mapped = HTTP_TO_GRPC[status];
  if (mapped !== undefined) return mapped;
  if (status >= 500 && status <= 599) return 13;
  if (status >= 400 && status <= 499) return 3;
  if (status >= 200 && status <= 299) return 0;
  return 2;
}

/** Kong's is_grpc_request(): HTTP/2 and a Content-Type starting application/grpc. */
export function isGrpcRequest(req: { httpVersionMajor: number; headers: { 'content-type'?: string } }): boolean {
  const type = req.headers['content-type'];
  return req.httpVersionMajor === 2 && type !== undefined && type.startsWith(GRPC_TYPE);
}

/**
 * Kong's answer to a gRPC client: `message` null gives Kong's name for the status (what
 * kong.response.error sends, its message dropped), a string is sent as `grpc-message` (what
 * kong.response.exit and the error handler send). `headers`: flat, lower-case names, a
 * plugin's or Kong's own (x-kong-request-id...); a grpc-status among them is kept.
 */
export function sendGrpcAnswer(res: ServerResponse, status: number, message: string | null, headers: string[], startedAt = -1): void {
  const stream = (res as unknown as http2.Http2ServerResponse).stream;
  if (res.headersSent || stream === undefined || stream.destroyed) {
    res.destroy();
    return;
  }
  const out: Record<string, string | string[]> = { ':status': String(status) };
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'connection' || name === 'content-length' || name === 'upgrade' || name === 'transfer-encoding') continue;
    const prev = out[name];
    out[name] = prev === undefined ? headers[i + 1]! : Array.isArray(prev) ? [...prev, headers[i + 1]!] : [prev, headers[i + 1]!];
  }
  let code = out['grpc-status'];
  if (code === undefined) out['grpc-status'] = code = String(grpcStatusOf(status));
  if (out['grpc-message'] === undefined) out['grpc-message'] = message ?? GRPC_MESSAGES[Number(code)] ?? 'Unknown';
  out['content-length'] = '0';
  out.server = SERVER;
  if (startedAt >= 0) out['x-kong-response-latency'] = String(Math.round(performance.now() - startedAt));
  stream.respond(out, { endStream: true });
}

/** kong.response.exit with a table body for a gRPC client: its `message` string, else none. */
export function grpcMessageOf(body: string): string | null {
  if (body === '') return null;
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    return typeof m === 'string' ? m : null;
  } catch {
    return null;
  }
}

/**
 * Kong's checks on a route whose protocols are grpc/grpcs (kong/runloop/handler.lua): a gRPC
 * request over HTTP/1.1 gets 426, a request that is not gRPC 415, and a gRPC request over
 * cleartext on a grpcs-only route a gRPC status 1. True when answered.
 */
export function refuseOnGrpcRoute(ctx: ProxyContext, protocols: string[], l: { tls: boolean; h2?: boolean }, start: number): boolean {
  const type = ctx.req.headers['content-type'];
  const id = ctx.requestId;
  if (type === undefined || !type.startsWith(GRPC_TYPE)) {
    ctx.status = 415;
    sendJson(ctx.res, 415, errorBody('Non-gRPC request matched gRPC route', id), ['x-kong-request-id', id], start);
    return true;
  }
  if (l.h2 !== true) {
    ctx.status = 426;
    sendJson(ctx.res, 426, errorBody('Please use HTTP2 protocol', id), ['connection', 'Upgrade', 'upgrade', 'HTTP/2', 'x-kong-request-id', id], start);
    return true;
  }
  if (!protocols.includes('grpc') && !l.tls) {
    ctx.status = 200;
    sendGrpcAnswer(ctx.res, 200, 'gRPC request matched gRPCs route', ['content-type', GRPC_TYPE, 'grpc-status', '1', 'x-kong-request-id', id], start);
    return true;
  }
  return false;
}
