// HTTP/1.1 pipelining handled as nginx does: one request of a connection at a time.
//
// node's http server hands every request it parses to the handler at once and only orders the
// answers, so a client that pipelines thousands of requests on a few connections had them all
// proxied at the same moment: upstream requests, plugin state and memory without bound (256
// connections with 700 pipelined requests each left a worker answering nothing, its memory
// growing, long after the clients had gone). Here a request that arrives while an earlier one of
// the same connection is unanswered waits its turn, and the connection stops being read while
// any wait, so the rest of the burst stays in the kernel's buffers as it does behind nginx's fixed
// read buffer. What is in progress is bounded by the number of connections, not by what clients send.
//
// node parses a whole read (up to 64 KB, some 2,000 minimal requests) before any of it can wait, so
// a connection keeps at most MAX_WAITING requests: the last of them is answered with
// `Connection: close` and what the client pipelined beyond it is not answered (the client sees the
// connection close after the answers it got, as after nginx's keepalive_requests). Without the cap
// a burst of 20 KB on each of 256 connections held 180,000 parsed requests (400 MB) at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const kWaiting = Symbol('gossamer.pipelined');
/** A connection's requests waiting behind the one in progress; absent while none is in progress. */
type QueuedSocket = Socket & { [kWaiting]?: [IncomingMessage, ServerResponse][] };

/** Requests of one connection that may wait behind the one in progress (browsers never pipeline; the few clients that do send a handful). */
export const MAX_WAITING = 32;

const kOverflowed = Symbol('gossamer.pipelineOverflowed');

/**
 * When a connection that overflowed closes, node's server destroys each request it parsed and
 * never answered with an `aborted` error, and formats that error's stack (streams read
 * `err.stack` on destroy): hundreds of stack traces per closed connection, a fifth of the
 * worker's CPU in a pipelined flood. Those errors go nowhere (nobody listens to the requests),
 * so they are made without a stack: the limit is 0 only while the close is handled.
 */
function overflowed(socket: QueuedSocket & { [kOverflowed]?: true }): void {
  if (socket[kOverflowed]) return;
  socket[kOverflowed] = true;
  socket.prependOnceListener('close', () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    queueMicrotask(() => (Error.stackTraceLimit = limit));
  });
}

export function oneAtATime(handle: Handler): Handler {
  const run = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as QueuedSocket;
    let done = false;
    const next = (): void => {
      if (done) return;
      done = true;
      const waiting = socket[kWaiting];
      const following = socket.destroyed ? undefined : waiting?.shift();
      if (following) return run(following[0], following[1]);
      socket[kWaiting] = undefined;
      if (!socket.destroyed) socket.resume();
    };
    res.once('finish', next);
    res.once('close', next);
    handle(req, res);
  };
  return (req, res) => {
    const socket = req.socket as QueuedSocket;
    const waiting = socket[kWaiting];
    if (waiting === undefined) {
      socket[kWaiting] = [];
      return run(req, res);
    }
    socket.pause();
    if (waiting.length >= MAX_WAITING) return overflowed(socket); // beyond the cap: never answered, the connection closes after the last one kept
    waiting.push([req, res]);
    if (waiting.length === MAX_WAITING) res.shouldKeepAlive = false;
  };
}
