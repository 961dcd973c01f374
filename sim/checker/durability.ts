// Durability: every write the Admin API acknowledged is in Postgres at the end, and every node
// that is up at the end serves the final state of every route.
import { eventsOf, type History, type WriteEvent } from '../history.ts';
import { acked } from './convergence.ts';
import { verdict, type Verdict } from './verdict.ts';

/** A write whose outcome the client cannot know: no answer, or a server error other than 503. */
export function indeterminate(w: WriteEvent): boolean {
  return w.status === 0 || (w.status >= 500 && w.status !== 503);
}

export function checkDurability(h: History): Verdict {
  const writes = eventsOf(h, 'write').sort((a, b) => a.seq - b.seq);
  const finalDb = new Map(eventsOf(h, 'final-db').map((e) => [`${e.entity}/${e.key}`, e]));
  const finalProbes = eventsOf(h, 'final-probe');
  const byKey = new Map<string, WriteEvent[]>();
  for (const w of writes) {
    const k = `${w.entity}/${w.key}`;
    byKey.set(k, [...(byKey.get(k) ?? []), w]);
  }
  const failures: string[] = [];
  let judged = 0;
  let skipped = 0;
  let ackedWrites = 0;
  for (const [k, ws] of byKey) {
    const done = ws.filter(acked);
    ackedWrites += done.length;
    if (done.length === 0) continue;
    if (ws.some(indeterminate)) {
      skipped++;
      continue;
    }
    judged++;
    const last = done[done.length - 1]!;
    const shouldExist = last.op !== 'delete';
    const db = finalDb.get(k);
    if (!db) failures.push(`${k}: not looked up in Postgres at the end`);
    else if (db.present !== shouldExist) {
      failures.push(shouldExist
        ? `${k}: acknowledged ${last.op} (write #${last.seq} on ${last.node}) is missing from Postgres`
        : `${k}: acknowledged delete (write #${last.seq} on ${last.node}) but still in Postgres`);
    }
    if (last.entity !== 'routes' || !last.expect) continue;
    for (const [path, status] of Object.entries(last.expect)) {
      for (const p of finalProbes.filter((x) => x.path === path)) {
        if (p.status !== status) failures.push(`${k}: ${p.node} answers ${p.status} for ${path} at the end, want ${status} (write #${last.seq})`);
      }
    }
  }
  return verdict({
    invariant: 'durability',
    bound: '0 acknowledged writes lost',
    measured: `${ackedWrites} acked writes over ${judged} entities, ${failures.length} problems`,
    judged,
    skipped,
    failures,
  });
}
