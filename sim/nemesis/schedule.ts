// The fault schedule: a scenario's timeline as written, or a random one drawn from a seed.
// Random schedules depend only on (seed, duration, nodes): same seed, same faults, same times.
// Nothing observed during a run feeds back into it, so a second run plans the same steps.
import { prng } from '../prng.ts';
import type { FaultStep } from '../scenario.ts';

/**
 * Seconds a node gets to boot after a restart before the next fault starts: on a busy 2-core
 * machine (load 15-20) `gossamer start` took 5-35 s, 7-15 s most of the time. Without this
 * room the next fault lands while a node is still booting (two nodes of three out at once),
 * or waits for the boot and runs late, and a second run of the seed no longer matches.
 */
export const BOOT_ROOM_S = 30;

// A rolling restart holds the schedule for nodes × BOOT_ROOM_S: drawn as often as the others,
// it would fill most of a run. One draw in eleven.
const KINDS = ['kill', 'pause', 'partition', 'db-down', 'isolate-db', 'kill', 'pause', 'partition', 'db-down', 'isolate-db', 'rolling-restart'] as const;

/** One fault and its repair at a time, so a majority stays up and every fault can be judged. */
export function randomSchedule(seed: number, durationS: number, nodes: number, startS = 5): FaultStep[] {
  const rng = prng(seed);
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const steps: FaultStep[] = [];
  let t = startS;
  const end = durationS - 6;
  while (t < end) {
    const kind = rng.pick(KINDS);
    const node = rng.pick(names);
    const hold = rng.int(3, 7);
    if (kind === 'rolling-restart') {
      if (t + nodes * BOOT_ROOM_S > end) break;
      steps.push({ at: t, op: 'rolling-restart' });
      t += nodes * BOOT_ROOM_S;
    } else {
      if (t + hold > end) break;
      const repair = { kill: 'restart', pause: 'resume', partition: 'heal', 'db-down': 'db-up', 'isolate-db': 'restore-db' } as const;
      if (kind === 'partition') {
        const rest = names.filter((n) => n !== node);
        steps.push({ at: t, op: 'partition', groups: [[node], rest] });
        steps.push({ at: t + hold, op: 'heal' });
      } else if (kind === 'db-down') {
        steps.push({ at: t, op: 'db-down' }, { at: t + hold, op: 'db-up' });
      } else {
        steps.push({ at: t, op: kind, node }, { at: t + hold, op: repair[kind], node });
      }
      t += hold;
      if (kind === 'kill') t += BOOT_ROOM_S;
    }
    t += rng.int(4, 8);
  }
  return steps;
}

export function describeStep(s: FaultStep): string {
  const target = s.groups ? s.groups.map((g) => g.join('+')).join(' | ') : s.node ?? '';
  return `${String(s.at).padStart(5)}s  ${s.op}${target ? ` ${target}` : ''}`;
}

export function describeSchedule(steps: FaultStep[]): string {
  return steps.length ? steps.map(describeStep).join('\n') : '  (no faults)';
}
