// Membership truth at the end: every node that is up sees every up node alive, every node that
// is down as failed or left, and all up nodes report the same config_version.
import { eventsOf, type History, type MembersEvent } from '../history.ts';
import { fmtMs, timeline } from './timeline.ts';
import { verdict, type Verdict } from './verdict.ts';

export function checkMembership(h: History): Verdict {
  const tl = timeline(h);
  const end = tl.end;
  const up = h.nodes.filter((n) => tl.stateAt(n, end) === 'up');
  const failures: string[] = [];
  const last = new Map<string, MembersEvent>();
  for (const s of eventsOf(h, 'members')) if (s.ok) last.set(s.node, s);
  const versions = new Map<string, number>();
  for (const o of up) {
    const s = last.get(o);
    if (!s?.members) {
      failures.push(`${o}: no answer from /cluster/members at the end`);
      continue;
    }
    if (s.config_version !== undefined) versions.set(o, s.config_version);
    for (const n of h.nodes) {
      const m = s.members.find((x) => x.name === n);
      const want = up.includes(n) ? 'alive' : 'failed|left';
      if (up.includes(n) ? m?.status !== 'alive' : m && m.status !== 'failed' && m.status !== 'left') {
        failures.push(`${o} shows ${n} as ${m?.status ?? 'absent'}, want ${want}`);
      }
    }
  }
  const distinct = new Set(versions.values());
  if (distinct.size > 1) failures.push(`config_version differs: ${[...versions].map(([n, v]) => `${n}=${v}`).join(', ')}`);
  return verdict({
    invariant: 'membership',
    bound: 'views agree with reality',
    measured: `${up.length}/${h.nodes.length} up, config_version ${[...distinct].join('/') || '?'}`,
    judged: up.length,
    failures,
  });
}

/** No node process exited unless the nemesis killed or stopped it. */
export function checkCrashes(h: History): Verdict {
  const crashes = eventsOf(h, 'node').filter((e) => e.crashed);
  return verdict({
    invariant: 'crashes',
    bound: 'no node exits on its own',
    measured: `${crashes.length} unexpected exit(s)`,
    judged: h.nodes.length,
    failures: crashes.map((e) => `${e.node} exited on its own at ${fmtMs(e.t)} (${e.crashed}); see its node.log`),
  });
}
