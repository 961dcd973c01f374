// What each node saw of a partition, from the sampled `/cluster/members` views in a run's
// history: for every (observer, peer across the cut) pair, how long until the observer listed
// the peer `suspect` and `failed`, and after the heal how long until it listed it `alive` again.
// With `--net netns` the cut is a black hole (probes time out instead of being refused), the
// hard case for failure detection. Run: node --import tsx sim/harness/net-views.ts report.json
import '../../src/polyfill.ts';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Sample {
  kind: 'members';
  node: string;
  ok: boolean;
  t: number;
  members?: { name: string; status: string }[];
}
interface Fault {
  kind: 'fault';
  op: string;
  t: number;
  /** The schedule's seconds. */
  at?: number;
  groups?: string[][];
}
type Event = Sample | Fault | { kind: string; t: number };

export interface PairView {
  observer: string;
  peer: string;
  /** ms from the partition to the first sample showing the peer suspect / failed; undefined: never seen. */
  suspectMs?: number;
  failedMs?: number;
  /** ms from the heal to the first sample showing the peer alive again. */
  aliveMs?: number;
}

export interface PartitionView {
  /** When the partition took effect (ms on the run's clock), and the schedule's seconds. */
  t: number;
  at?: number;
  healAt?: number;
  groups: string[][];
  pairs: PairView[];
}

export function partitionViews(events: Event[]): PartitionView[] {
  const samples = events.filter((e): e is Sample => e.kind === 'members' && (e as Sample).ok);
  const faults = events.filter((e): e is Fault => e.kind === 'fault');
  const out: PartitionView[] = [];
  for (const [i, f] of faults.entries()) {
    if (f.op !== 'partition' || !f.groups) continue;
    const heal = faults.slice(i + 1).find((g) => g.op === 'heal' || g.op === 'partition');
    const healAt = heal?.op === 'heal' ? heal.t : undefined;
    const until = heal?.t ?? Infinity;
    const pairs: PairView[] = [];
    const all = f.groups.flat();
    for (const observer of all) {
      for (const peer of all.filter((p) => !f.groups!.find((g) => g.includes(observer))!.includes(p))) {
        const seen = (from: number, to: number, status: string[]) =>
          samples.find((s) => s.node === observer && s.t >= from && s.t < to && status.includes(s.members?.find((m) => m.name === peer)?.status ?? ''));
        const suspect = seen(f.t, until, ['suspect', 'failed']);
        const failed = seen(f.t, until, ['failed']);
        const alive = healAt === undefined ? undefined : seen(healAt, Infinity, ['alive']);
        pairs.push({
          observer,
          peer,
          ...(suspect ? { suspectMs: suspect.t - f.t } : {}),
          ...(failed ? { failedMs: failed.t - f.t } : {}),
          ...(alive && healAt !== undefined ? { aliveMs: alive.t - healAt } : {}),
        });
      }
    }
    out.push({ t: f.t, ...(f.at !== undefined ? { at: f.at } : {}), ...(healAt !== undefined ? { healAt } : {}), groups: f.groups, pairs });
  }
  return out;
}

export function describeViews(views: PartitionView[]): string[] {
  const ms = (v?: number) => (v === undefined ? 'never' : `${v} ms`);
  const worst = (xs: (number | undefined)[]) => (xs.some((x) => x === undefined) ? undefined : Math.max(...(xs as number[])));
  return views.flatMap((v) => [
    `partition ${v.groups.map((g) => g.join('+')).join(' | ')}${v.at !== undefined ? ` at ${v.at} s` : ''}: ` +
      v.groups.map((g) => {
        const w = worst(v.pairs.filter((p) => g.includes(p.observer)).map((p) => p.failedMs));
        return `${g.join('+')} ${w === undefined ? 'never saw all the others failed' : `saw the others failed after ${w} ms`}`;
      }).join(', ') +
      (v.healAt !== undefined ? `; alive everywhere ${ms(worst(v.pairs.map((p) => p.aliveMs)))} after the heal` : '; never healed'),
    ...v.pairs.map((p) => `  ${p.observer} sees ${p.peer}: suspect ${ms(p.suspectMs)}, failed ${ms(p.failedMs)}${v.healAt !== undefined ? `, alive ${ms(p.aliveMs)} after heal` : ''}`),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx sim/harness/net-views.ts report.json');
    process.exit(2);
  }
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { history: { events: Event[] } };
  const lines = describeViews(partitionViews(saved.history.events));
  console.log(lines.length ? lines.join('\n') : 'no partition in this run');
}
