// Kong's error bodies, byte for byte apart from the request id.
import type { ServerResponse } from 'node:http';
import { SERVER } from './version.ts';

export const MSG = {
  noRoute: 'no Route matched with those values',
  noService: 'no Service found with those values',
  badGateway: 'An invalid response was received from the upstream server',
  noPeer: 'failure to get a peer from the ring-balancer',
  unavailable: 'name resolution failed',
  timeout: 'The upstream server is timed out',
  internal: 'An unexpected error occurred',
  payloadTooLarge: 'Request size limit exceeded',
  /** Kong's answer when nginx_http_client_max_body_size refuses a body (its error handler's 413). */
  bodyTooLarge: 'Payload too large',
} as const;

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A response produced by the gateway itself. Like Kong, it carries Server and the time the
 * gateway took (X-Gossamer-Response-Latency, Kong's X-Kong-Response-Latency). `typed`: false
 * when `headers` already holds the Content-Type.
 */
export function sendJson(res: ServerResponse, status: number, body: string, headers: string[], startedAt = -1, typed = true): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (typed) headers.push('content-type', JSON_TYPE);
  headers.push('content-length', String(Buffer.byteLength(body)), 'server', SERVER);
  if (startedAt >= 0) headers.push('x-kong-response-latency', String(Math.round(performance.now() - startedAt)));
  res.writeHead(status, headers);
  res.end(body);
}

export function errorBody(message: string, requestId: string): string {
  return `{"message":${JSON.stringify(message)},"request_id":"${requestId}"}`;
}
