// A raw TCP client for the malformed-request tests: sends bytes exactly as given (no client
// library would send most of them) and collects what comes back until the server closes.
import net from 'node:net';

export interface RawAnswer {
  /** Everything the server sent, as latin1. */
  data: string;
  /** Whether the server closed the connection before `ms` ran out. */
  closed: boolean;
}

/** Send `payload` (parts `gapMs` apart), collect the answer until close or `ms` pass. */
export function rawRequest(port: number, payload: string | Buffer | (string | Buffer)[], ms = 3000, gapMs = 0): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      clearTimeout(t);
      resolve({ data, closed });
    });
    const t = setTimeout(() => {
      sock.destroy();
      resolve({ data, closed });
    }, ms);
    const parts = Array.isArray(payload) ? payload : [payload];
    let i = 0;
    const next = (): void => {
      if (i >= parts.length || sock.destroyed) return;
      sock.write(parts[i++]!);
      if (gapMs) setTimeout(next, gapMs);
      else next();
    };
    sock.on('connect', next);
  });
}

/** The status codes of every answer in `data`, in order (pipelined answers included). */
export function statusesOf(data: string): number[] {
  return [...data.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}
