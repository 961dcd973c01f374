// What the nodes of a benchmark cluster say about each other: the membership lines of their
// logs (who marked whom, when, on the node's own clock) and their /cluster/members views.
// Shared by bench:membership and bench:scale.
import fs from 'node:fs';
import type { SimNode } from '../harness/node-process.ts';

export interface LogEvent {
  time: number;
  node: string;
  member: string;
  msg: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The membership lines of every node's log (pino JSON): who marked whom, when. */
export function readEvents(nodes: SimNode[]): LogEvent[] {
  const out: LogEvent[] = [];
  for (const n of nodes) {
    let text = '';
    try {
      text = fs.readFileSync(n.logFile, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{') || !line.includes('cluster: member')) continue;
      try {
        const j = JSON.parse(line) as { time: number; member?: string; msg: string };
        if (j.member) out.push({ time: j.time, node: n.name, member: j.member, msg: j.msg });
      } catch {
        /* a torn line of a killed process */
      }
    }
  }
  return out;
}

export async function membersOf(n: SimNode): Promise<{ name: string; status: string; incarnation: number }[] | null> {
  try {
    const r = await fetch(`${n.adminUrl}/cluster/members`, { signal: AbortSignal.timeout(1500) });
    return ((await r.json()) as { data: { name: string; status: string; incarnation: number }[] }).data;
  } catch {
    return null;
  }
}

/** What the nodes see when they did not converge: statuses over all views, and how many nodes see each count of alive members. */
export async function describeViews(nodes: SimNode[]): Promise<string> {
  const views = await Promise.all(nodes.map(membersOf));
  const statuses: Record<string, number> = {};
  const alive = new Map<number, number>();
  for (const v of views) {
    if (!v) {
      statuses['(no answer)'] = (statuses['(no answer)'] ?? 0) + 1;
      continue;
    }
    for (const m of v) statuses[m.status] = (statuses[m.status] ?? 0) + 1;
    const a = v.filter((m) => m.status === 'alive').length;
    alive.set(a, (alive.get(a) ?? 0) + 1);
  }
  return `statuses over all views: ${JSON.stringify(statuses)}; alive members seen (count: nodes): ${[...alive].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`;
}

/** Wait until every observer lists `victim` with `status`; false after `timeoutMs`. */
export async function waitAll(observers: SimNode[], victim: string, status: string, timeoutMs: number, pollMs = 100): Promise<boolean> {
  return (await waitEach(observers, victim, status, timeoutMs, pollMs)).length === 0;
}

/**
 * Wait until each observer has listed `victim` with `status` at least once (an observer that
 * did is not asked again: a node too busy to answer one poll is not a miss). Returns the ones
 * that never did within `timeoutMs`, each with what it last said — a status and incarnation, or
 * that its Admin API did not answer — so a miss says whether the protocol or the machine missed.
 */
export async function waitEach(observers: SimNode[], victim: string, status: string, timeoutMs: number, pollMs = 100): Promise<{ node: string; saw: string }[]> {
  const end = Date.now() + timeoutMs;
  const saw = new Map<SimNode, string>(observers.map((o) => [o, 'not asked']));
  while (saw.size > 0) {
    await Promise.all(
      [...saw.keys()].map(async (o) => {
        const v = await membersOf(o);
        const m = v?.find((x) => x.name === victim);
        if (m?.status === status) saw.delete(o);
        else saw.set(o, !v ? 'no answer from its Admin API' : m ? `${m.status} (incarnation ${m.incarnation})` : 'not listed');
      }),
    );
    if (saw.size === 0 || Date.now() >= end) break;
    await sleep(pollMs);
  }
  return [...saw].map(([o, s]) => ({ node: o.name, saw: s }));
}

/**
 * When the last of `observers` first logged `msg` about `member` at or after `since` (ms since
 * `since`), or NaN when one of them never did.
 */
export function lastFirstMark(events: LogEvent[], observers: SimNode[], member: string, msg: RegExp, since: number): number {
  const firsts = observers.map((o) => Math.min(...events.filter((e) => e.node === o.name && e.member === member && msg.test(e.msg) && e.time >= since).map((e) => e.time)));
  return firsts.every(Number.isFinite) ? Math.max(...firsts) - since : NaN;
}
