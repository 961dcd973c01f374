// Same seed, same faults: the fuzz schedule is a pure function of (seed, duration, nodes), and
// `sim compare` tells two runs that applied the same faults at the same times from two that did
// not. The real double run is sim/same-seed.sh (two clusters: too long for the suite).
import { expect, test } from 'vitest';
import type { FaultEvent, History } from '../../sim/history.ts';
import { appliedFaults, compareFaults } from '../../sim/nemesis/compare.ts';
import { BOOT_ROOM_S, describeSchedule, randomSchedule } from '../../sim/nemesis/schedule.ts';
import { buildSchedule } from '../../sim/run.ts';
import { parseScenario } from '../../sim/scenario.ts';

test('the 10-minute fuzz schedule is generated the same twice, and differs for another seed or cluster size', () => {
  const fuzz = parseScenario('name: fuzz\nduration: 600\nrandom_faults: true\n');
  const a = buildSchedule(fuzz, 42, 3);
  const b = buildSchedule(fuzz, 42, 3);
  expect(b).toEqual(a);
  expect(describeSchedule(b)).toBe(describeSchedule(a));
  expect(buildSchedule(fuzz, 43, 3)).not.toEqual(a);
  expect(buildSchedule(fuzz, 42, 5)).not.toEqual(a);
  expect(a.length).toBeGreaterThan(20);
  expect(new Set(a.map((s) => s.op))).toEqual(new Set(['kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'db-down', 'db-up', 'isolate-db', 'restore-db', 'rolling-restart']));
});

test('a restarted node gets its boot time before the next fault, so no fault waits for a boot', () => {
  for (const seed of [1, 7, 42, 1234]) {
    const steps = randomSchedule(seed, 600, 3);
    for (const [i, s] of steps.entries()) {
      const next = steps[i + 1];
      if (!next) continue;
      if (s.op === 'restart') expect(next.at - s.at, `seed ${seed}: ${s.at}s restart, then ${next.op} at ${next.at}s`).toBeGreaterThanOrEqual(BOOT_ROOM_S);
      if (s.op === 'rolling-restart') expect(next.at - s.at, `seed ${seed}: rolling restart at ${s.at}s`).toBeGreaterThanOrEqual(3 * BOOT_ROOM_S);
    }
  }
});

function history(faults: Partial<FaultEvent>[]): History {
  const events = [{ kind: 'phase' as const, t: 1000, phase: 'load' }, ...faults.map((f) => ({ kind: 'fault' as const, op: 'kill', t: 0, ...f }))];
  return { scenario: 'fuzz', seed: 42, startedAt: '', nodes: ['n1', 'n2', 'n3'], events: events as History['events'] };
}

// Run A booted faster than run B (its load started earlier on its clock): compared on the schedule's clock.
const runA = history([
  { op: 'kill', node: 'n1', at: 5, planned: 6000, started: 6003, t: 6010 },
  { op: 'rolling-restart-failed', at: 12, planned: 13000, started: 13002, t: 13100, note: 'boom' },
  { op: 'stop', node: 'n1', t: 13050, note: 'rolling restart' },
  { op: 'partition', groups: [['n1'], ['n2', 'n3']], at: 40, planned: 41000, started: 41001, t: 41200 },
]);

test('report.json lists the faults the schedule planned, with how late each began and took effect', () => {
  expect(appliedFaults(runA)).toEqual([
    { op: 'kill', target: 'n1', at_s: 5, late_ms: 3, took_ms: 7 },
    { op: 'rolling-restart', target: '', at_s: 12, late_ms: 2, took_ms: 98, failed: 'boom' },
    { op: 'partition', target: 'n1 | n2+n3', at_s: 40, late_ms: 1, took_ms: 199 },
  ]);
});

test('compare: same faults at the same schedule times are the same; a late, missing or different fault is named', () => {
  const ok = [
    { op: 'kill', target: 'n1', at_s: 5, late_ms: 3, took_ms: 7 },
    { op: 'partition', target: 'n1 | n2+n3', at_s: 40, late_ms: 1, took_ms: 199 },
  ];
  const shifted = ok.map((f) => ({ ...f, late_ms: f.late_ms + 40, took_ms: f.took_ms * 3 }));
  const same = compareFaults(ok, shifted, 1000);
  expect(same).toEqual({ same: true, compared: 2, worstLateMs: 43, problems: [] });

  const late = compareFaults(ok, [ok[0]!, { ...ok[1]!, late_ms: 3500 }], 1000);
  expect(late.same).toBe(false);
  expect(late.problems).toEqual(['fault #2 40s partition n1 | n2+n3: begun 3500 ms off its planned time in the second run']);

  const other = compareFaults(ok, [{ ...ok[0]!, target: 'n2' }, ok[1]!]);
  expect(other.problems).toEqual(['fault #1: 5s kill n1 in the first run, 5s kill n2 in the second']);

  const missing = compareFaults(ok, ok.slice(0, 1));
  expect(missing.same).toBe(false);
  expect(missing.problems).toContain('fault #2: only in the first run: 40s partition n1 | n2+n3');

  expect(compareFaults(appliedFaults(runA), appliedFaults(runA)).problems).toEqual([
    'fault #2 12s rolling-restart: failed in the first run: boom',
    'fault #2 12s rolling-restart: failed in the second run: boom',
  ]);
});
