// Open-loop load for bench:ratelimit: requests are sent on a fixed schedule whatever the answers
// take (a closed loop would slow down with the gateway and hide overshoot), and each answer is
// kept with the time it was sent, so the checker can count what was let through per window.
import { Agent, request } from 'undici';

export interface Shot {
  /** ms epoch when the request was sent. */
  at: number;
  status: number;
}

const agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 10_000 });

/**
 * Nothing is sent this close (ms) to a window boundary: a request sent just before one may be
 * counted by the node just after it, and the client would put it in the wrong window.
 */
const EDGE_GUARD_MS = 30;

/**
 * `rate` requests per second to `url` for `ms`, evenly spaced; resolves with every answer.
 * With `windowMs`, the schedule skips the EDGE_GUARD_MS either side of each window boundary
 * (the rate within the rest of the window is unchanged).
 */
export async function openLoop(url: string | string[], rate: number, ms: number, windowMs = 0): Promise<Shot[]> {
  // Several URLs (one per node): taken in turn, as a round-robin load balancer would.
  const urls = Array.isArray(url) ? url : [url];
  const shots: Promise<Shot>[] = [];
  const start = Date.now();
  const total = Math.round((rate * ms) / 1000);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    if (windowMs > 0) {
      const into = due % windowMs;
      if (into < EDGE_GUARD_MS || into > windowMs - EDGE_GUARD_MS) continue;
    }
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = Date.now();
    shots.push(
      request(urls[i % urls.length]!, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 }).then(
        async (r) => {
          await r.body.dump();
          return { at, status: r.statusCode };
        },
        () => ({ at, status: 0 }),
      ),
    );
  }
  return Promise.all(shots);
}

export interface WindowCounts {
  /** Admitted (200) per complete window, in order. */
  admitted: number[];
  /** Answers that were neither 200 nor 429 (errors). */
  errors: number;
}

/**
 * Admitted requests per complete window of `windowMs` (aligned to the epoch, as the plugin's
 * windows are), by send time. The first and last windows are partial and left out.
 */
export function perWindow(shots: Shot[], windowMs: number): WindowCounts {
  if (!shots.length) return { admitted: [], errors: 0 };
  const first = Math.floor(shots[0]!.at / windowMs) + 1;
  const last = Math.floor(shots[shots.length - 1]!.at / windowMs) - 1;
  const admitted: number[] = [];
  for (let w = first; w <= last; w++) admitted.push(0);
  let errors = 0;
  for (const s of shots) {
    if (s.status !== 200 && s.status !== 429) errors++;
    const w = Math.floor(s.at / windowMs);
    if (s.status === 200 && w >= first && w <= last) admitted[w - first]!++;
  }
  return { admitted, errors };
}
