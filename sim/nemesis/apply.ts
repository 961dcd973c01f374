// Applies nemesis steps to a running cluster and records each as a fault event. cp-loss and
// cp-restore are recorded no-ops until hybrid mode (control planes) exists.
import type { FaultEvent, Recorder } from '../history.ts';
import type { SimCluster } from '../harness/cluster.ts';
import { sleep } from '../harness/node-process.ts';
import type { FaultStep } from '../scenario.ts';

export interface ApplyContext {
  cluster: SimCluster;
  recorder: Recorder;
  log: (line: string) => void;
}

export async function applyStep(ctx: ApplyContext, s: FaultStep): Promise<void> {
  const { cluster, recorder } = ctx;
  const fault = (note?: string, extra: Partial<FaultEvent> = {}) =>
    recorder.add<FaultEvent>({ kind: 'fault', op: s.op, ...(s.node ? { node: s.node } : {}), ...(s.groups ? { groups: s.groups } : {}), ...(note ? { note } : {}), ...extra });
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
    case 'cp-loss':
    case 'cp-restore':
      fault('no-op: hybrid mode (control/data planes) is not in the simulator yet');
      return;
  }
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
 * on the same node, so the schedule keeps its times; rolling-restart waits for everything.
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
  const perNode = new Map<string, Promise<void>>();
  const all = () => Promise.all([...perNode.values()]).then(() => {});
  const launch = async (s: FaultStep, late: number) => {
    ctx.log(`nemesis: ${s.op}${s.node ? ` ${s.node}` : ''}${s.groups ? ` ${s.groups.map((g) => g.join('+')).join(' | ')}` : ''}${late > 500 ? ` (${late} ms late)` : ''}`);
    state.current = `${s.op}${s.node ? ` ${s.node}` : ''}`;
    try {
      await applyStep(ctx, s);
    } catch (err) {
      ctx.log(`nemesis: ${s.op} failed: ${(err as Error).message}`);
      ctx.recorder.add<FaultEvent>({ kind: 'fault', op: `${s.op}-failed`, ...(s.node ? { node: s.node } : {}), note: (err as Error).message.slice(0, 300) });
    }
    state.applied++;
  };
  state.done = (async () => {
    for (const s of [...steps].sort((a, b) => a.at - b.at)) {
      const wait = startMs + s.at * 1000 - ctx.recorder.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      const late = () => Math.max(0, ctx.recorder.now() - (startMs + s.at * 1000));
      if (s.op === 'rolling-restart') {
        const p = all().then(() => launch(s, late()));
        for (const n of ctx.cluster.nodes) perNode.set(n.name, p);
      } else if (s.node) {
        const p = (perNode.get(s.node) ?? Promise.resolve()).then(() => launch(s, late()));
        perNode.set(s.node, p);
      } else {
        await launch(s, late());
      }
    }
    await all();
  })();
  return state;
}
