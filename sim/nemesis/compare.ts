// Same seed, same faults: the faults a run applied, as report.json lists them, and the
// comparison of two runs (`gossamer sim compare`). Times are taken from the schedule's clock
// (seconds from the start of the load), so two runs compare even when one booted slower.
import type { FaultEvent, History } from '../history.ts';

export interface AppliedFault {
  op: string;
  target: string;
  /** Where the schedule put it, seconds from the start of the load. */
  at_s: number;
  /** How far behind the plan the nemesis began it, and when it had taken effect (ms). */
  late_ms: number;
  took_ms: number;
  failed?: string;
}

function target(f: Pick<FaultEvent, 'node' | 'groups'>): string {
  return f.groups ? f.groups.map((g) => g.join('+')).join(' | ') : f.node ?? '';
}

/** Faults the schedule planned, in the order they were planned (steps a rolling restart makes itself are left out). */
export function appliedFaults(h: History): AppliedFault[] {
  const out: AppliedFault[] = [];
  // Histories written before `at` was recorded: the load starts with its phase event.
  const loadStart = h.events.find((e) => e.kind === 'phase' && e.phase === 'load')?.t ?? 0;
  for (const e of h.events) {
    if (e.kind !== 'fault' || e.planned === undefined || e.started === undefined) continue;
    const failed = e.op.endsWith('-failed');
    out.push({
      op: failed ? e.op.slice(0, -'-failed'.length) : e.op,
      target: target(e),
      at_s: e.at ?? Math.round((e.planned - loadStart) / 100) / 10,
      late_ms: e.started - e.planned,
      took_ms: e.t - e.started,
      ...(failed ? { failed: e.note ?? 'failed' } : {}),
    });
  }
  return out.sort((a, b) => a.at_s - b.at_s);
}

export interface FaultComparison {
  same: boolean;
  /** Faults compared, and the worst lateness in either run. */
  compared: number;
  worstLateMs: number;
  problems: string[];
}

/**
 * Two runs applied the same faults at the same times when they planned the same steps (op,
 * target, time) and each run began every step within `toleranceMs` of its planned time.
 */
export function compareFaults(a: AppliedFault[], b: AppliedFault[], toleranceMs = 1000): FaultComparison {
  const problems: string[] = [];
  const label = (f: AppliedFault) => `${f.at_s}s ${f.op}${f.target ? ` ${f.target}` : ''}`;
  if (a.length !== b.length) problems.push(`${a.length} faults in the first run, ${b.length} in the second`);
  let worst = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) {
      problems.push(`fault #${i + 1}: only in the ${x ? 'first' : 'second'} run: ${label((x ?? y)!)}`);
      continue;
    }
    if (label(x) !== label(y)) problems.push(`fault #${i + 1}: ${label(x)} in the first run, ${label(y)} in the second`);
    for (const [run, f] of [['first', x], ['second', y]] as const) {
      worst = Math.max(worst, Math.abs(f.late_ms));
      if (Math.abs(f.late_ms) > toleranceMs) problems.push(`fault #${i + 1} ${label(f)}: begun ${f.late_ms} ms off its planned time in the ${run} run`);
      if (f.failed) problems.push(`fault #${i + 1} ${label(f)}: failed in the ${run} run: ${f.failed}`);
    }
  }
  return { same: problems.length === 0, compared: Math.min(a.length, b.length), worstLateMs: worst, problems };
}
