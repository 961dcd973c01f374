// Failure detection and recovery, as every live member reports them in /cluster/members.
// A control plane lost and restored (hybrid mode) is judged like a node killed and restarted.
import { eventsOf, type History, type MembersEvent, type Ms } from '../history.ts';
import { fmtMs, timeline, type Timeline } from './timeline.ts';
import { verdict, type Verdict } from './verdict.ts';

const FAILED = new Set(['failed', 'left']);

/** When `observer` first reported `target` in one of `states` at or after `from` (and before `until`). */
function firstReport(samples: MembersEvent[], observer: string, target: string, states: (s: string) => boolean, from: Ms, until: Ms): Ms | undefined {
  for (const s of samples) {
    if (s.node !== observer || !s.ok || s.t < from || s.t > until) continue;
    const m = s.members?.find((x) => x.name === target);
    if (m && states(m.status)) return s.t;
  }
  return undefined;
}

/** Observers are the other nodes up from `from` to `until` (a node that goes down meanwhile owes no answer). */
function observers(h: History, tl: Timeline, target: string, from: Ms, until: Ms): string[] {
  return h.nodes.filter((n) => n !== target && tl.changes.filter((c) => c > from && c <= until).concat(from, until).every((t) => tl.stateAt(n, t) === 'up'));
}

/** Time back up after the fault at `from`: the target's next `up` state event (a resume can land in the same millisecond). */
export function backUpAt(h: History, target: string, from: Ms): Ms | undefined {
  return eventsOf(h, 'node').find((e) => e.node === target && e.state === 'up' && e.t >= from)?.t;
}

export function checkDetection(h: History, bound: { max_ms: number }): Verdict {
  const tl = timeline(h);
  const samples = eventsOf(h, 'members').sort((a, b) => a.t - b.t);
  const faults = eventsOf(h, 'fault').filter((f) => (f.op === 'kill' || f.op === 'pause' || f.op === 'cp-loss') && f.node);
  const failures: string[] = [];
  let worst = 0;
  let judged = 0;
  let skipped = 0;
  for (const f of faults) {
    const target = f.node!;
    const back = backUpAt(h, target, f.t) ?? tl.end;
    const deadline = f.t + bound.max_ms;
    const obs = observers(h, tl, target, f.t, Math.min(back, deadline));
    let latest = 0;
    const missing: string[] = [];
    for (const o of obs) {
      const at = firstReport(samples, o, target, (s) => FAILED.has(s), f.t, back);
      if (at === undefined) missing.push(o);
      else latest = Math.max(latest, at - f.t);
    }
    if (missing.length && back < deadline) {
      skipped++; // back before the bound ran out: nothing to judge
      continue;
    }
    judged++;
    worst = Math.max(worst, latest);
    if (missing.length) failures.push(`${f.op} ${target} at ${fmtMs(f.t)}: never shown failed by ${missing.join(', ')}`);
    else if (latest > bound.max_ms) failures.push(`${f.op} ${target} at ${fmtMs(f.t)}: shown failed everywhere only after ${fmtMs(latest)}`);
  }
  return verdict({ invariant: 'detection', bound: `≤ ${fmtMs(bound.max_ms)}`, measured: judged ? `worst ${fmtMs(worst)}` : 'no kill/pause', judged, skipped, failures });
}

export function checkRecovery(h: History, bound: { max_ms: number }): Verdict {
  const tl = timeline(h);
  const samples = eventsOf(h, 'members').sort((a, b) => a.t - b.t);
  const faults = eventsOf(h, 'fault').filter((f) => (f.op === 'resume' || f.op === 'restart' || f.op === 'cp-restore') && f.node);
  const failures: string[] = [];
  let worst = 0;
  let judged = 0;
  let skipped = 0;
  for (const f of faults) {
    const target = f.node!;
    // A restart counts from the moment the process answers /status: boot time is not the cluster's.
    const from = backUpAt(h, target, f.t);
    if (from === undefined) {
      failures.push(`${f.op} ${target} at ${fmtMs(f.t)}: the node never came back up`);
      judged++;
      continue;
    }
    const nextFault = eventsOf(h, 'fault').find((x) => x.t > f.t && (x.node === target || x.op === 'partition' || x.op === 'db-down'))?.t ?? tl.end;
    const deadline = from + bound.max_ms;
    if (nextFault < deadline) {
      skipped++;
      continue;
    }
    const obs = observers(h, tl, target, from, deadline);
    judged++;
    let latest = 0;
    const missing: string[] = [];
    for (const o of obs) {
      const at = firstReport(samples, o, target, (s) => s === 'alive', from, nextFault);
      if (at === undefined) missing.push(o);
      else latest = Math.max(latest, at - from);
    }
    worst = Math.max(worst, latest);
    if (missing.length) failures.push(`${f.op} ${target} at ${fmtMs(f.t)}: never shown alive by ${missing.join(', ')}`);
    else if (latest > bound.max_ms) failures.push(`${f.op} ${target} at ${fmtMs(f.t)}: shown alive everywhere only after ${fmtMs(latest)}`);
  }
  return verdict({ invariant: 'recovery', bound: `≤ ${fmtMs(bound.max_ms)}`, measured: judged ? `worst ${fmtMs(worst)}` : 'no resume/restart', judged, skipped, failures });
}
