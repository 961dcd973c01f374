// Convergence (every node in contact serves an acknowledged route write within the bound) and
// stale reads (no node in contact serves the old state past the stale bound).
import { eventsOf, type History, type Ms, type ProbeEvent, type WriteEvent } from '../history.ts';
import { backUpAt } from './detection.ts';
import { fmtMs, firstMomentFrom, inContact, timeline, type Timeline } from './timeline.ts';
import { verdict, type Verdict } from './verdict.ts';

export function acked(w: WriteEvent): boolean {
  return w.status >= 200 && w.status < 300;
}

interface Case {
  write: WriteEvent;
  node: string;
  /** When the clock starts for this node: the ack, or later when the node comes into contact. */
  start: Ms;
  /** The clock started when the node came back into contact (heal, restart, Postgres back). */
  afterFault: boolean;
  /** When a later write to the same key supersedes this one (its send time). */
  supersededAt: Ms;
  probes: ProbeEvent[];
}

function cases(h: History, tl: Timeline): { cases: Case[]; unjudgeable: number } {
  const writes = eventsOf(h, 'write').filter((w) => w.entity === 'routes').sort((a, b) => a.seq - b.seq);
  const probes = eventsOf(h, 'probe');
  const bySeqNode = new Map<string, ProbeEvent[]>();
  for (const p of probes) {
    const k = `${p.seq}/${p.node}`;
    const l = bySeqNode.get(k) ?? [];
    l.push(p);
    bySeqNode.set(k, l);
  }
  const out: Case[] = [];
  let unjudgeable = 0;
  for (const w of writes) {
    if (!acked(w) || !w.expect) continue;
    const ack = w.t + w.latency;
    const next = writes.find((x) => x.key === w.key && x.seq > w.seq);
    const supersededAt = next ? next.t : Infinity;
    for (const node of h.nodes) {
      const start = firstMomentFrom(tl, ack, (t) => inContact(tl, node, w.node, t));
      if (start === undefined || start >= supersededAt) {
        unjudgeable++;
        continue;
      }
      out.push({ write: w, node, start, afterFault: start > ack, supersededAt, probes: (bySeqNode.get(`${w.seq}/${node}`) ?? []).sort((a, b) => a.t - b.t) });
    }
  }
  return { cases: out, unjudgeable };
}

/** The moment the node served every expected path of the write (max over paths of the first match). */
function servedAt(c: Case): Ms | undefined {
  let at = 0;
  for (const [path, status] of Object.entries(c.write.expect ?? {})) {
    const first = c.probes.find((p) => p.path === path && p.status === status && p.t < c.supersededAt);
    if (!first) return undefined;
    at = Math.max(at, first.t);
  }
  return at;
}

/**
 * Hybrid mode: when the write was made on a control plane back from cp-restore, the moment it
 * answered again. Data planes reconnect on their own retry clock (Kong's waits 5-10 s), so
 * writes made that soon after are judged like writes after a heal.
 */
function controlPlaneBackAt(h: History, w: WriteEvent): Ms | undefined {
  if (!h.control_planes?.includes(w.node)) return undefined;
  const ack = w.t + w.latency;
  const restore = eventsOf(h, 'fault').filter((f) => f.op === 'cp-restore' && f.node === w.node && f.t <= ack).at(-1);
  return restore && backUpAt(h, w.node, restore.t);
}

/** The first moment in (from, to] at which the node is out of contact with the writer. */
function contactLost(tl: Timeline, c: Case, from: Ms, to: Ms): Ms | undefined {
  return tl.changes.find((t) => t > from && t <= to && !inContact(tl, c.node, c.write.node, t));
}

export function checkConvergence(h: History, bound: { max_ms: number; after_fault_ms?: number }): Verdict {
  const tl = timeline(h);
  const { cases: all, unjudgeable } = cases(h, tl);
  const failures: string[] = [];
  let worst = 0;
  let worstAfterFault = 0;
  let judged = 0;
  let skipped = unjudgeable;
  let silent = 0;
  let held = 0;
  const lags: number[] = [];
  for (const c of all) {
    const at = servedAt(c);
    // Contact lost before the node served the write (killed, paused, partitioned): the clock
    // starts again when contact is back.
    let start = c.start;
    const cpBack = controlPlaneBackAt(h, c.write);
    let afterFault = c.afterFault || (cpBack !== undefined && start - cpBack < (bound.after_fault_ms ?? bound.max_ms));
    for (let lost = contactLost(tl, c, start, Math.min(at ?? Infinity, start + bound.max_ms)); lost !== undefined; lost = contactLost(tl, c, start, Math.min(at ?? Infinity, start + bound.max_ms))) {
      const back = firstMomentFrom(tl, lost, (t) => inContact(tl, c.node, c.write.node, t));
      if (back === undefined || back >= c.supersededAt) {
        start = Infinity;
        break;
      }
      start = back;
      afterFault = true;
    }
    if (start === Infinity) {
      skipped++;
      continue;
    }
    // A node whose proxy gives no answer at all serves neither the old state nor the new: that
    // is unavailability (judged through the balancer), not late convergence. The clock starts at
    // its first answer, and how long it was silent is reported. One that never answers is
    // still judged (and fails) below.
    const firstProbe = c.probes.find((p) => p.t >= start);
    const answer = firstProbe?.status === 0 ? c.probes.find((p) => p.t >= start && p.status !== 0) : undefined;
    if (answer && (at === undefined || answer.t <= at)) {
      silent = Math.max(silent, answer.t - start);
      held++;
      start = answer.t;
    }
    const limit = afterFault ? (bound.after_fault_ms ?? bound.max_ms) : bound.max_ms;
    const deadline = start + limit;
    if (at === undefined) {
      // Superseded, or the run ended, before the bound ran out: cannot be judged either way.
      if (c.supersededAt < deadline || tl.end < deadline) {
        skipped++;
        continue;
      }
      judged++;
      failures.push(`${c.write.op} ${c.write.key} (write #${c.write.seq} on ${c.write.node} at ${fmtMs(c.write.t)}): never served by ${c.node}`);
      continue;
    }
    judged++;
    const lag = Math.max(0, at - start);
    lags.push(lag);
    if (afterFault) worstAfterFault = Math.max(worstAfterFault, lag);
    else worst = Math.max(worst, lag);
    if (lag > limit) failures.push(`${c.write.op} ${c.write.key} (write #${c.write.seq} on ${c.write.node}): served by ${c.node} ${fmtMs(lag)} after ${afterFault ? 'contact came back' : 'the ack'}`);
  }
  lags.sort((a, b) => a - b);
  const p50 = lags.length ? lags[Math.floor(lags.length / 2)]! : 0;
  return verdict({
    invariant: 'convergence',
    bound: bound.after_fault_ms && bound.after_fault_ms !== bound.max_ms ? `≤ ${fmtMs(bound.max_ms)} (≤ ${fmtMs(bound.after_fault_ms)} after a heal/restart)` : `≤ ${fmtMs(bound.max_ms)}`,
    measured: judged
      ? `p50 ${fmtMs(p50)}, worst ${fmtMs(worst)} (after a fault ${fmtMs(worstAfterFault)}) over ${judged} (write, node) pairs${held ? `; ${held} clocks started at the node's first answer (silent up to ${fmtMs(silent)})` : ''}`
      : 'no route writes judged',
    judged,
    skipped,
    failures,
  });
}

export function checkStaleReads(h: History, bound: { max_ms: number }): Verdict {
  const tl = timeline(h);
  const { cases: all, unjudgeable } = cases(h, tl);
  const failures: string[] = [];
  let stale = 0;
  let judged = 0;
  for (const c of all) {
    for (const p of c.probes) {
      if (p.t >= c.supersededAt || p.t < c.start + bound.max_ms) continue;
      // An answer that came back after a later write to the same entity may rightly show that
      // write's state (the node served it somewhere between send and answer): not judgeable.
      if ((p.answered ?? p.t) >= c.supersededAt) continue;
      if (!inContact(tl, c.node, c.write.node, p.t)) continue;
      // No answer at all is unavailability (judged through the balancer), not stale data.
      if (p.status === 0) continue;
      judged++;
      if (p.status !== p.expected) {
        stale++;
        failures.push(`${c.node} answered ${p.status} for ${p.path} at ${fmtMs(p.t)}, ${fmtMs(p.t - c.start)} after ${c.write.op} ${c.write.key} (want ${p.expected})`);
      }
    }
  }
  return verdict({
    invariant: 'stale_reads',
    bound: `none after ${fmtMs(bound.max_ms)}`,
    measured: `${stale} stale of ${judged} late probes`,
    judged,
    skipped: unjudgeable,
    failures,
  });
}
