// Each node's view of the cluster, several times a second: /cluster/members, with the node's
// own config_version. The checker reads detection, recovery and membership truth from these.
import type { MembersEvent, MemberView, Recorder } from '../history.ts';
import { call, json } from './http.ts';

export interface SampleTarget {
  name: string;
  adminUrl: string;
}

interface MembersBody {
  data?: { name: string; status: string; config_version?: number | string; config_hash?: string; self?: boolean }[];
}

export function startSampler(o: { recorder: Recorder; targets: () => SampleTarget[]; intervalMs?: number; timeoutMs?: number }): { stop(): Promise<void>; sampleAll(): Promise<void> } {
  const busy = new Set<string>();
  const inflight = new Set<Promise<void>>();
  const sample = async (n: SampleTarget) => {
    if (busy.has(n.name)) return; // one at a time per node: a hung node must not pile up requests
    busy.add(n.name);
    try {
      const r = await call('GET', `${n.adminUrl}/cluster/members`, { timeoutMs: o.timeoutMs ?? 800 });
      const body = r.status === 200 ? json<MembersBody>(r) : undefined;
      if (!body?.data) {
        o.recorder.add<MembersEvent>({ kind: 'members', node: n.name, ok: false });
        return;
      }
      const members: MemberView[] = body.data.map((m) => ({
        name: m.name,
        status: m.status,
        config_version: Number(m.config_version ?? 0),
        ...(m.config_hash ? { config_hash: m.config_hash } : {}),
      }));
      const self = body.data.find((m) => m.self) ?? body.data.find((m) => m.name === n.name);
      o.recorder.add<MembersEvent>({ kind: 'members', node: n.name, ok: true, config_version: Number(self?.config_version ?? 0), members });
    } finally {
      busy.delete(n.name);
    }
  };
  const sampleAll = async () => {
    await Promise.all(o.targets().map(sample));
  };
  const timer = setInterval(() => {
    const p = sampleAll();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }, o.intervalMs ?? 250);
  return {
    sampleAll,
    async stop() {
      clearInterval(timer);
      await Promise.all([...inflight]);
    },
  };
}
