// Availability through the load balancer: what a client of the cluster saw.
import { eventsOf, type History } from '../history.ts';
import { fmtMs } from './timeline.ts';
import { verdict, type Verdict } from './verdict.ts';

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 400;
}

export function checkAvailability(h: History, bound: { min_success: number; max_error_burst_ms: number }): Verdict {
  const reqs = eventsOf(h, 'request').sort((a, b) => a.t - b.t);
  const ok = reqs.filter((r) => isSuccess(r.status)).length;
  const ratio = reqs.length ? ok / reqs.length : 1;
  // A burst runs from the first failed request to the next request that succeeded.
  let longest = 0;
  let longestAt = 0;
  let burstStart: number | undefined;
  for (const r of reqs) {
    if (!isSuccess(r.status)) {
      burstStart ??= r.t;
      const len = r.t + r.latency - burstStart;
      if (len > longest) [longest, longestAt] = [len, burstStart];
    } else if (burstStart !== undefined) {
      const len = r.t - burstStart;
      if (len > longest) [longest, longestAt] = [len, burstStart];
      burstStart = undefined;
    }
  }
  const failures: string[] = [];
  if (ratio < bound.min_success) {
    const byStatus = new Map<string, number>();
    for (const r of reqs) if (!isSuccess(r.status)) byStatus.set(r.error ?? String(r.status), (byStatus.get(r.error ?? String(r.status)) ?? 0) + 1);
    const top = [...byStatus].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${k}×${n}`).join(', ');
    failures.push(`success ${(ratio * 100).toFixed(3)}% < ${(bound.min_success * 100).toFixed(3)}% (${reqs.length - ok} failed of ${reqs.length}: ${top})`);
  }
  if (longest > bound.max_error_burst_ms) failures.push(`error burst of ${fmtMs(longest)} starting at ${fmtMs(longestAt)}`);
  return verdict({
    invariant: 'availability',
    bound: `≥ ${(bound.min_success * 100).toFixed(2)}% ok, bursts ≤ ${fmtMs(bound.max_error_burst_ms)}`,
    measured: `${(ratio * 100).toFixed(3)}% of ${reqs.length}, longest burst ${fmtMs(longest)}`,
    judged: reqs.length,
    failures,
  });
}
