// The service's write_timeout (nginx proxy_send_timeout) for streamed request bodies: how long
// the upstream may leave the body unread. One sweep timer serves every watched request, and
// nothing sits in the body's path: a Transform per request cost about 40% of the CPU of a small
// POST. Progress is read off the client's request stream: undici pauses it while the upstream
// socket is full, so a paused stream with bytes waiting and no bytes taken is the upstream's
// stall; a flowing one waits on the client, which the listener's request timeout covers.
import type { IncomingMessage } from 'node:http';

export interface WriteWatch {
  readonly req: IncomingMessage;
  readonly ms: number;
  /** Bytes the upstream side has taken so far (socket bytes read minus those still queued). */
  taken: number;
  since: number;
  readonly stall: (err: Error) => void;
}

/** Bodies up to this size fit a socket's send buffer in one write: no write can wait on them. */
export const SMALL_BODY = 16 * 1024;
const SWEEP_MS = 50;
const watched = new Set<WriteWatch>();
let sweeper: NodeJS.Timeout | null = null;

function takenOf(req: IncomingMessage): number {
  return (req.socket?.bytesRead ?? 0) - req.readableLength;
}

export function watchWrites(req: IncomingMessage, ms: number, stall: (err: Error) => void): WriteWatch {
  const w: WriteWatch = { req, ms, taken: takenOf(req), since: performance.now(), stall };
  watched.add(w);
  if (sweeper === null) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
  return w;
}

export function unwatchWrites(w: WriteWatch): void {
  watched.delete(w);
  if (watched.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

function sweep(): void {
  const now = performance.now();
  for (const w of watched) {
    const req = w.req;
    if (req.readableEnded || req.destroyed) {
      unwatchWrites(w);
      continue;
    }
    const taken = takenOf(req);
    const waitingOnUpstream = req.readableFlowing === false && req.readableLength > 0;
    if (taken !== w.taken || !waitingOnUpstream) {
      w.taken = taken;
      w.since = now;
    } else if (now - w.since >= w.ms) {
      unwatchWrites(w);
      w.stall(Object.assign(new Error(`upstream did not take the request body within write_timeout (${w.ms} ms)`), { code: 'GOSSAMER_WRITE_TIMEOUT' }));
    }
  }
}
