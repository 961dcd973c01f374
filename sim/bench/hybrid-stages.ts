// bench:hybrid's per-stage table: where the time of one change goes between the Admin API
// call on the control plane and the first 200 on each data plane. Every process on the path
// writes the stages it saw (src/sync/trace.ts, GOSSAMER_TRACE_CHANGES=DIR); the
// bench adds its own: the POST sent, the 201 back, the first 200 seen per data plane.
import fs from 'node:fs';
import path from 'node:path';
import type { TraceLine } from '../../src/sync/trace.ts';
import { pct } from './stats.ts';

/** One change as the bench saw it (ms on src/sync/trace.ts's clock, nowMs()). */
export interface ChangeSeen {
  id: string;
  sent: number;
  acked: number;
  /** Per data plane, in the order of the bench's list: when its first 200 came back (Infinity: never). */
  served: number[];
  /** Per data plane: when the request answered with that 200 was sent. */
  asked: number[];
}

interface Proc {
  node: string;
  worker: boolean;
  lines: TraceLine[];
}

/** Trace files of DIR, attributed to nodes by pid (a primary) or parent pid (its proxy worker). */
function readTraces(dir: string, pids: Map<number, string>): Proc[] {
  const out: Proc[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = /^(\d+)-(\d+)\.jsonl$/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    const ppid = Number(m[2]);
    const node = pids.get(pid) ?? pids.get(ppid);
    if (!node) continue; // a process of an earlier node incarnation
    const lines = fs
      .readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TraceLine);
    out.push({ node, worker: !pids.has(pid), lines });
  }
  return out;
}


const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1).padStart(7) : '      –');

/**
 * The table: each stage's p50 / p99 over every (change, data plane). Stages are differences
 * of consecutive timestamps of one change on one data plane, so the rows of a change add up
 * to its total.
 */
export function stageTable(dir: string, pids: Map<number, string>, dps: string[], changes: ChangeSeen[]): string {
  const procs = readTraces(dir, pids);
  // stage → node → entity id → first time
  const at = new Map<string, Map<string, Map<string, number>>>();
  const note = (stage: string, node: string, id: string, t: number) => {
    let byNode = at.get(stage);
    if (!byNode) at.set(stage, (byNode = new Map()));
    let byId = byNode.get(node);
    if (!byId) byNode.set(node, (byId = new Map()));
    if (!byId.has(id) || byId.get(id)! > t) byId.set(id, t);
  };
  for (const p of procs) {
    for (const l of p.lines) {
      // A stage the control plane notes per data plane belongs to that data plane's row.
      note(l.s, l.peer ?? p.node, l.id, l.t);
    }
  }
  const get = (stage: string, node: string, id: string) => at.get(stage)?.get(node)?.get(id) ?? NaN;
  const cp = [...new Set(procs.filter((p) => !dps.includes(p.node)).map((p) => p.node))][0] ?? 'cp';

  const rows: { label: string; values: number[] }[] = [
    { label: 'POST sent → entity + cluster_event committed (CP)', values: [] },
    { label: 'committed → pushed (handed to libp2p) (CP)', values: [] },
    { label: 'handed to libp2p → received (DP primary)', values: [] },
    { label: 'received → applied to the DP cache', values: [] },
    { label: 'applied → posted to the proxy worker (IPC)', values: [] },
    { label: 'posted → received by the worker', values: [] },
    { label: 'worker received → router updated', values: [] },
    { label: 'router updated → the bench sends the request that gets a 200', values: [] },
    { label: 'that request sent → its 200 back (through the upstream)', values: [] },
    { label: 'total: POST sent → served', values: [] },
  ];
  const side: { label: string; values: number[] }[] = [
    { label: 'committed → 201 back at the bench (clock start of the headline)', values: [] },
    { label: '201 back → served (the headline figure)', values: [] },
  ];
  let byPush = 0;
  let otherwise = 0;
  for (const c of changes) {
    const commit = get('commit', cp, c.id);
    const published = get('published', cp, c.id);
    side[0]!.values.push(c.acked - commit);
    dps.forEach((dp, i) => {
      const push = get('push', dp, c.id);
      if (Number.isNaN(push)) otherwise++;
      else byPush++;
      const chain = [c.sent, commit, published, push, get('applied', dp, c.id), get('ipc', dp, c.id), get('worker', dp, c.id), get('router', dp, c.id), c.asked[i]!, c.served[i]!];
      for (let k = 0; k + 1 < chain.length; k++) rows[k]!.values.push(chain[k + 1]! - chain[k]!);
      rows[rows.length - 1]!.values.push(c.served[i]! - c.sent);
      side[1]!.values.push(c.served[i]! - c.acked);
    });
  }
  const width = Math.max(...[...rows, ...side].map((r) => r.label.length));
  const line = (r: { label: string; values: number[] }) => `     ${r.label.padEnd(width)} ${f(pct(r.values, 50))} ${f(pct(r.values, 99))}`;
  return [
    `   per stage, ms over ${changes.length} changes × ${dps.length} data planes (p50, p99 of each row apart: rows do not add up at p99)`,
    `     ${''.padEnd(width)}     p50     p99`,
    ...rows.map(line),
    `     beside the path:`,
    ...side.map(line),
    `     received by push ${byPush}, otherwise (a repair by asking) ${otherwise}`,
  ].join('\n');
}
