// Requests node's HTTP parser (llhttp) refuses, answered as Kong answers what nginx refuses:
// nginx's status, the body of Kong's error handler (kong/error_handlers.lua), and the
// connection closed, since nginx never keeps a connection alive after a request it could not
// parse. None of this runs for a well-formed request: node calls these only on the 'clientError'
// and 'connect' events.
//
// Statuses, from nginx 1.25's ngx_http_parse.c / ngx_http_request.c and Kong 3's templates:
// - 400 for every request it cannot parse (bad request line, bad header line, bad chunk,
//   duplicate Content-Length or Transfer-Encoding, Content-Length with Transfer-Encoding);
// - 501 for a Transfer-Encoding other than exactly "chunked" (nginx: "client sent unknown
//   Transfer-Encoding"); Kong's error_page does not list 501, so nginx's own page answers;
// - 414 when the request line does not fit (nginx: "client sent too long URI");
// - 494 when the headers do not fit: Kong 3.6's template (OpenResty 1.25) has
//   `error_page 494 =494`, so it keeps nginx's 494 with the body "Request header or cookie too
//   large" (earlier templates listed 494 with the 4xx and the client saw 400; node says 431);
// - nothing when the head does not arrive within client_header_timeout: nginx logs a 408 and
//   closes the connection without an answer (ngx_http_finalize_request terminates a timed-out
//   request), so does Gossamer;
// - 405 for CONNECT (nginx refuses the method before routing: "client sent CONNECT method");
// - 505 for a request line naming HTTP/2 or later (nginx: "client sent invalid version").
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { JSON_TYPE, errorBody } from './errors.ts';
import { nextRequestId } from './request-id.ts';
import { SERVER } from './version.ts';

/** Kong's error handler messages for the statuses nginx gives malformed requests. */
const KONG_MESSAGE: Record<number, string> = {
  400: 'Bad request',
  405: 'Method not allowed',
  408: 'Request timeout',
  414: 'URI too long',
  494: 'Request header or cookie too large',
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  405: 'Not Allowed',
  408: 'Request Time-out',
  414: 'Request-URI Too Large',
  494: 'Request Header Or Cookie Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/** nginx's own error page, for a status Kong's error_page leaves to nginx (501, 505). */
export function nginxPage(status: number): string {
  const title = `${status} ${REASON[status]}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>${SERVER}</center>\r\n</body>\r\n</html>\r\n`;
}

/** The whole answer, status line to body, with `Connection: close`. */
export function clientErrorResponse(status: number): string {
  const message = KONG_MESSAGE[status];
  const id = nextRequestId();
  const body = message === undefined ? nginxPage(status) : errorBody(message, id);
  const type = message === undefined ? 'text/html' : JSON_TYPE;
  return (
    `HTTP/1.1 ${status} ${REASON[status]}\r\nServer: ${SERVER}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Gossamer-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** How many header lines in `head` are named `name` (lower case). */
function countHeader(head: string, name: string): number {
  let n = 0;
  const lower = head.toLowerCase();
  for (let at = lower.indexOf('\n' + name); at !== -1; at = lower.indexOf('\n' + name, at + 1)) n++;
  return n;
}

/**
 * Too-large head: 414 while the request line is still being read, else 494. `raw` is the chunk
 * the parser was reading, up to where it stopped; a chunk that starts a request and has no line
 * end before that point is a request line too long. (A request line spread over several chunks
 * counts as headers: 494; both are refusals that close.)
 */
function overflowStatus(raw: string): number {
  const lineEnd = raw.indexOf('\n');
  return lineEnd === -1 && /^[A-Z]+ /.test(raw) ? 414 : 494;
}

/** nginx's status for what llhttp refused; `raw` is the chunk it was parsing, as latin1. */
export function statusOfParseError(code: string | undefined, reason: string, raw: string): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return overflowStatus(raw);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 408;
    case 'HPE_INVALID_VERSION':
      // nginx: HTTP/2 and later spelled out in an HTTP/1 request line is 505; other bad versions 400.
      return /^[^\r\n]* HTTP\/[2-9]\./.test(raw) ? 505 : 400;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // With Content-Length, or a second Transfer-Encoding header: nginx's 400 (a duplicate
      // header line). A single Transfer-Encoding that is not exactly "chunked": nginx's 501.
      if (reason.includes('Content-Length') || countHeader(raw, 'transfer-encoding') > 1) return 400;
      return 501;
    default:
      return 400;
  }
}

/** node's parser of a socket (internal, stable since node 0.x): it hands each parsed request to `onIncoming`. */
interface ParsedSocket {
  parser?: { onIncoming: ((...args: unknown[]) => unknown) | null } | null;
  _httpMessage?: ServerResponse | null;
}

function dropRequest(): number {
  return 0;
}

/**
 * After an answer that closes the connection, the requests the client pipelined behind it are
 * never handled, as with nginx, which reads nothing more from such a connection. node parses a
 * whole packet at once and would hand them on (to the upstream!) while the answer is written;
 * swapping the parser's callback drops them at no cost to any other connection.
 */
export function refuseLaterRequests(socket: Duplex | null): void {
  if (socket === null) return;
  refused.add(socket);
  const parser = (socket as ParsedSocket).parser;
  if (parser) parser.onIncoming = dropRequest;
}

/** Sockets whose last answer is a refusal: whatever the parser finds after it gets no answer. */
const refused = new WeakSet<Duplex>();

/**
 * node:http's 'clientError': answer as Kong does, then close. A socket already closed or reset
 * by the client only loses what is left of it. When the bad request was pipelined behind one
 * still being answered, that answer goes first, as nginx reads the next request only then.
 */
export function onClientError(err: NodeJS.ErrnoException & { reason?: string; rawPacket?: Buffer; bytesParsed?: number }, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (refused.has(socket)) return; // the refusal is on its way and closes the connection
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT') {
    socket.destroy(); // client_header_timeout: closed without an answer, as nginx does
    return;
  }
  const raw = err.rawPacket ? err.rawPacket.toString('latin1', 0, err.bytesParsed ?? err.rawPacket.length) : '';
  const answer = clientErrorResponse(statusOfParseError(err.code, err.reason ?? '', raw));
  const send = (): void => {
    if (!socket.writable) return void socket.destroy();
    socket.end(answer);
    // Bytes the client sends after the refusal (a pipelined request) are never read.
    socket.once('finish', () => socket.destroy());
  };
  // A request whose own body is bad (a broken chunk) is answered at once: its forwarding stops
  // with its body. One complete and still being answered goes first.
  const inFlight = (socket as ParsedSocket)._httpMessage;
  if (inFlight && !inFlight.writableFinished && inFlight.req.complete) {
    inFlight.once('finish', send);
    // 'close' also follows a normal finish: only an answer cut short drops the connection.
    inFlight.once('close', () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
  } else send();
}

/** node:http's 'connect' (a CONNECT request): nginx refuses the method with 405 and closes. */
export function onConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(clientErrorResponse(405));
  socket.once('finish', () => socket.destroy());
}
