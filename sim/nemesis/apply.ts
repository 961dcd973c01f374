// Applies nemesis steps to a running cluster and records each as a fault event, with the time
// the schedule planned for it and the time it was begun, so two runs of a seed can be compared.
import type { FaultEvent, Recorder } from '../history.ts';
import type { SimCluster } from '../harness/cluster.ts';
import { sleep } from '../harness/node-process.ts';
import type { FaultStep } from '../scenario.ts';

export interface ApplyContext {
  cluster: SimCluster;
  recorder: Recorder;
  log: (line: string) => void;
}

export async function applyStep(ctx: ApplyContext, s: FaultStep, stamp: Pick<FaultEvent, 'at' | 'planned' | 'started'> | Record<string, never> = {}): Promise<void> {
  const { cluster, recorder } = ctx;
  const fault = (note?: string, extra: Partial<FaultEvent> = {}) =>
    recorder.add<FaultEvent>({ kind: 'fault', op: s.op, ...(s.node ? { node: s.node } : {}), ...(s.groups ? { groups: s.groups } : {}), ...(note ? { note } : {}), ...stamp, ...extra });
  switch (s.op) {
    case 'kill':
      fault();
      await cluster.node(s.node!).kill();
      return;
    case 'pause':
      fault();
      cluster.node(s.node!).pause();
      return;
    case 'resume':
      fault();
      cluster.node(s.node!).resume();
      return;
    case 'restart':
      fault();
      await cluster.restartNode(s.node!);
      return;
    case 'stop':
      fault();
      await cluster.node(s.node!).stop();
      return;
    case 'partition': {
      const problems = await cluster.partition(s.groups!);
      fault(problems.join('; ') || undefined);
      return;
    }
    case 'heal': {
      const problems = await cluster.heal();
      fault(problems.join('; ') || undefined);
      return;
    }
    case 'db-down':
      await cluster.dbDown();
      fault(); // recorded once Postgres is really down: writes after this must answer 503
      return;
    case 'db-up':
      await cluster.dbUp();
      fault();
      return;
    case 'isolate-db':
      cluster.isolateDb(s.node!);
      fault();
      return;
    case 'restore-db':
      cluster.restoreDb(s.node!);
      fault();
      return;
    case 'rolling-restart':
      fault();
      for (const n of cluster.nodes) {
        if (n.state !== 'up') continue;
        ctx.log(`rolling restart: ${n.name}`);
        recorder.add<FaultEvent>({ kind: 'fault', op: 'stop', node: n.name, note: 'rolling restart' });
        await n.stop();
        await cluster.startNode(n.name);
        // Let the balancer see it healthy before taking the next one away.
        await cluster.lb.checked();
        await cluster.lb.checked();
        await sleep(500);
      }
      return;
    case 'cp-loss': {
      const cp = cluster.controlPlane('cp-loss');
      fault(undefined, { node: cp.name });
      await cp.kill();
      return;
    }
    case 'cp-restore': {
      const cp = cluster.controlPlane('cp-restore');
      fault(undefined, { node: cp.name });
      await cluster.startControlPlane();
      return;
    }
  }
}

/** What a step acts on: steps on the same thing run in order. */
function resourceOf(s: FaultStep): string {
  if (s.node) return s.node;
  if (s.op === 'cp-loss' || s.op === 'cp-restore') return 'control-plane';
  if (s.op === 'db-down' || s.op === 'db-up') return 'postgres';
  return 'network'; // partition, heal
}

export interface NemesisRun {
  done: Promise<void>;
  stop(): void;
  applied: number;
  current: string;
}

/**
 * Run the steps at their times (seconds from `startMs` on the recorder's clock). A step does not
 * wait for slow earlier steps (a node can take many seconds to boot), except for earlier steps
 * on the same node (or Postgres, or the network), so the schedule keeps its times;
 * rolling-restart waits for everything. Each fault event carries `planned` and `started`.
 */
export function runSchedule(ctx: ApplyContext, steps: FaultStep[], startMs: number): NemesisRun {
  let stopped = false;
  const state: NemesisRun = {
    applied: 0,
    current: '',
    stop: () => {
      stopped = true;
    },
    done: Promise.resolve(),
  };
  const chains = new Map<string, Promise<void>>();
  const all = () => Promise.all([...chains.values()]).then(() => {});
  const launch = async (s: FaultStep) => {
    const planned = startMs + s.at * 1000;
    const started = ctx.recorder.now();
    const late = started - planned;
    ctx.log(`nemesis: ${s.op}${s.node ? ` ${s.node}` : ''}${s.groups ? ` ${s.groups.map((g) => g.join('+')).join(' | ')}` : ''}${late > 500 ? ` (${late} ms late)` : ''}`);
    state.current = `${s.op}${s.node ? ` ${s.node}` : ''}`;
    try {
      await applyStep(ctx, s, { at: s.at, planned, started });
    } catch (err) {
      ctx.log(`nemesis: ${s.op} failed: ${(err as Error).message}`);
      ctx.recorder.add<FaultEvent>({ kind: 'fault', op: `${s.op}-failed`, ...(s.node ? { node: s.node } : {}), at: s.at, planned, started, note: (err as Error).message.slice(0, 300) });
    }
    state.applied++;
  };
  state.done = (async () => {
    for (const s of [...steps].sort((a, b) => a.at - b.at)) {
      const wait = startMs + s.at * 1000 - ctx.recorder.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      if (s.op === 'rolling-restart') {
        const p = all().then(() => launch(s));
        for (const key of [...ctx.cluster.nodes.map((n) => n.name), ...chains.keys()]) chains.set(key, p);
      } else {
        // Steps wait only for earlier steps on what they touch, never for the clock of others:
        // a slow Postgres start or node boot must not push back the rest of the schedule.
        const key = resourceOf(s);
        const p = (chains.get(key) ?? Promise.resolve()).then(() => launch(s));
        chains.set(key, p);
      }
    }
    await all();
  })();
  return state;
}
