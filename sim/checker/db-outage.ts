// While Postgres is down, writes must answer 503 (not hang, not 500); once it is back, writes
// must succeed again within the catch-up bound.
import { eventsOf, type History } from '../history.ts';
import { acked } from './convergence.ts';
import { fmtMs } from './timeline.ts';
import { verdict, type Verdict } from './verdict.ts';

export function checkDbOutageWrites(h: History, bound: { catch_up_ms: number }): Verdict {
  const faults = eventsOf(h, 'fault').sort((a, b) => a.t - b.t);
  const writes = eventsOf(h, 'write').sort((a, b) => a.t - b.t);
  const failures: string[] = [];
  let judged = 0;
  let worstCatchUp = 0;
  for (const down of faults.filter((f) => f.op === 'db-down')) {
    const upEv = faults.find((f) => f.op === 'db-up' && f.t > down.t);
    const upAt = upEv?.t ?? Infinity;
    for (const w of writes.filter((x) => x.t > down.t && x.t + x.latency < upAt)) {
      judged++;
      if (w.status !== 503) failures.push(`write #${w.seq} (${w.op} ${w.key} on ${w.node}) at ${fmtMs(w.t)} during the outage answered ${w.status || w.error || 'nothing'}, want 503`);
    }
    if (!upEv) continue;
    const first = writes.find((w) => w.t >= upAt && acked(w));
    if (!first) {
      failures.push(`no write succeeded after Postgres came back at ${fmtMs(upAt)}`);
      continue;
    }
    const catchUp = first.t + first.latency - upAt;
    worstCatchUp = Math.max(worstCatchUp, catchUp);
    if (catchUp > bound.catch_up_ms) failures.push(`first acknowledged write ${fmtMs(catchUp)} after Postgres came back`);
  }
  return verdict({
    invariant: 'db_outage_writes',
    bound: `503 while down, writes ok ≤ ${fmtMs(bound.catch_up_ms)} after`,
    measured: judged ? `${judged} writes during outages, catch-up ${fmtMs(worstCatchUp)}` : 'no outage',
    judged,
    failures,
  });
}
