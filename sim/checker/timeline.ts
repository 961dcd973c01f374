// Questions about the state of the cluster at a moment, answered from the history's node and
// fault events (the harness records a node `up` once it answers /status again).
import { eventsOf, type FaultEvent, type History, type Ms, type NodeState } from '../history.ts';

export interface Timeline {
  stateAt(node: string, t: Ms): NodeState;
  /** Partition groups in force at t, or undefined when the cluster cannot be split. */
  groupsAt(t: Ms): string[][] | undefined;
  dbDownAt(t: Ms): boolean;
  dbIsolatedAt(node: string, t: Ms): boolean;
  /** Moments at which any of the above may change, ascending. */
  changes: Ms[];
  end: Ms;
}

function lastBefore<T extends { t: Ms }>(list: T[], t: Ms): T | undefined {
  let found: T | undefined;
  for (const e of list) {
    if (e.t <= t) found = e;
    else break;
  }
  return found;
}

export function timeline(h: History): Timeline {
  const nodeEvents = eventsOf(h, 'node').sort((a, b) => a.t - b.t);
  const faults = eventsOf(h, 'fault').sort((a, b) => a.t - b.t);
  const byNode = new Map<string, typeof nodeEvents>();
  for (const e of nodeEvents) {
    const l = byNode.get(e.node) ?? [];
    l.push(e);
    byNode.set(e.node, l);
  }
  const partitionFaults = faults.filter((f) => f.op === 'partition' || f.op === 'heal');
  const dbFaults = faults.filter((f) => f.op === 'db-down' || f.op === 'db-up');
  const isolation = faults.filter((f) => f.op === 'isolate-db' || f.op === 'restore-db' || f.op === 'heal');
  const end = h.events.reduce((m, e) => Math.max(m, e.t), 0);
  const changes = [...new Set([...nodeEvents.map((e) => e.t), ...faults.map((f) => f.t)])].sort((a, b) => a - b);

  return {
    stateAt: (node, t) => lastBefore(byNode.get(node) ?? [], t)?.state ?? 'starting',
    groupsAt: (t) => {
      const f = lastBefore(partitionFaults, t);
      return f?.op === 'partition' ? f.groups : undefined;
    },
    dbDownAt: (t) => lastBefore(dbFaults, t)?.op === 'db-down',
    dbIsolatedAt: (node, t) => {
      // `heal` restores every node's database link as well as the cluster links.
      const f = lastBefore(isolation.filter((x: FaultEvent) => x.op === 'heal' || x.node === node), t);
      return f?.op === 'isolate-db';
    },
    changes,
    end,
  };
}

/** Nodes a and b can talk over the cluster port at t (no partition between them). */
export function sameSide(tl: Timeline, a: string, b: string, t: Ms): boolean {
  const g = tl.groupsAt(t);
  if (!g) return true;
  const ga = g.findIndex((grp) => grp.includes(a));
  const gb = g.findIndex((grp) => grp.includes(b));
  // A node named in no group is on a side of its own.
  return ga !== -1 && ga === gb;
}

/**
 * A node is "in contact" for a write made on `writer` when it is up, reaches Postgres and is on
 * the writer's side of any partition: from then on it must serve the write within the bound.
 */
export function inContact(tl: Timeline, node: string, writer: string, t: Ms): boolean {
  return tl.stateAt(node, t) === 'up' && !tl.dbDownAt(t) && !tl.dbIsolatedAt(node, t) && sameSide(tl, node, writer, t);
}

/** The first moment ≥ from at which pred holds, checking only the moments the state can change. */
export function firstMomentFrom(tl: Timeline, from: Ms, pred: (t: Ms) => boolean): Ms | undefined {
  if (pred(from)) return from;
  for (const c of tl.changes) if (c > from && pred(c)) return c;
  return undefined;
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
