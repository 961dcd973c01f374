// What report.html draws, computed from the history: per-second throughput and errors, one
// lane per node (process state, config_version, how peers saw it), fault bands, verdicts.
import type { CheckResult } from '../checker/index.ts';
import { eventsOf, type History, type Ms } from '../history.ts';
import type { FaultStep } from '../scenario.ts';

export interface Segment {
  from: Ms;
  to: Ms;
  value: string;
}

export interface ReportData {
  scenario: string;
  description: string;
  seed: number;
  startedAt: string;
  durationMs: Ms;
  ok: boolean;
  schedule: FaultStep[];
  notes: string[];
  verdicts: CheckResult['verdicts'];
  /** Per-second buckets from 0. */
  throughput: { t: Ms; ok: number; err: number }[];
  writes: { t: Ms; ok: boolean; label: string }[];
  nodes: {
    name: string;
    state: Segment[];
    /** How the other nodes saw this one: the worst status any of them reported. */
    seen: Segment[];
    versions: { t: Ms; v: number }[];
  }[];
  faults: { t: Ms; label: string }[];
  bands: { from: Ms; to: Ms; label: string; node?: string }[];
  phases: { t: Ms; phase: string }[];
  totals: { requests: number; errors: number; writes: number; writesAcked: number; probes: number };
}

const STATUS_RANK: Record<string, number> = { alive: 0, suspect: 1, failed: 2, left: 2, absent: 3 };

function segments(points: { t: Ms; value: string }[], end: Ms): Segment[] {
  const out: Segment[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last.value === p.value) continue;
    if (last) last.to = p.t;
    out.push({ from: p.t, to: end, value: p.value });
  }
  return out;
}

const REPAIR: Record<string, string> = { kill: 'restart', pause: 'resume', partition: 'heal', 'db-down': 'db-up', 'isolate-db': 'restore-db', 'cp-loss': 'cp-restore' };

export function reportData(h: History, result: CheckResult, extra: { description: string; schedule: FaultStep[]; notes?: string[] }): ReportData {
  const end = h.events.reduce((m, e) => Math.max(m, e.t), 0);
  const reqs = eventsOf(h, 'request');
  const buckets = Array.from({ length: Math.ceil(end / 1000) + 1 }, (_, i) => ({ t: i * 1000, ok: 0, err: 0 }));
  for (const r of reqs) {
    const b = buckets[Math.floor(r.t / 1000)]!;
    if (r.status >= 200 && r.status < 400) b.ok++;
    else b.err++;
  }
  const writes = eventsOf(h, 'write');
  const samples = eventsOf(h, 'members');
  const faults = eventsOf(h, 'fault');
  const bands: ReportData['bands'] = [];
  for (const f of faults) {
    const repair = REPAIR[f.op];
    if (!repair) continue;
    const fix = faults.find((x) => x.t > f.t && (x.op === repair || (f.op === 'isolate-db' && x.op === 'heal')) && (!f.node || !x.node || x.node === f.node));
    const label = `${f.op}${f.node ? ` ${f.node}` : ''}${f.groups ? ` ${f.groups.map((g) => g.join('+')).join(' | ')}` : ''}`;
    bands.push({ from: f.t, to: fix?.t ?? end, label, ...(f.node ? { node: f.node } : {}) });
  }
  const nodes = [...(h.control_planes ?? []), ...h.nodes].map((name) => {
    const state = segments(eventsOf(h, 'node').filter((e) => e.node === name).map((e) => ({ t: e.t, value: e.state })), end);
    // The worst status any other node reported for this one, sample by sample.
    const latest = new Map<string, string>();
    const seenPts: { t: Ms; value: string }[] = [];
    for (const s of samples) {
      if (s.node === name || !s.ok) continue;
      latest.set(s.node, s.members?.find((m) => m.name === name)?.status ?? 'absent');
      const worst = [...latest.values()].sort((a, b) => (STATUS_RANK[b] ?? 3) - (STATUS_RANK[a] ?? 3))[0]!;
      seenPts.push({ t: s.t, value: worst });
    }
    const versions = samples.filter((s) => s.node === name && s.ok && s.config_version !== undefined).map((s) => ({ t: s.t, v: s.config_version! }));
    return { name, state, seen: segments(seenPts, end), versions };
  });
  return {
    scenario: h.scenario,
    description: extra.description,
    seed: h.seed,
    startedAt: h.startedAt,
    durationMs: end,
    ok: result.ok,
    schedule: extra.schedule,
    notes: extra.notes ?? [],
    verdicts: result.verdicts,
    throughput: buckets,
    writes: writes.map((w) => ({ t: w.t, ok: w.status >= 200 && w.status < 300, label: `#${w.seq} ${w.op} ${w.key} on ${w.node}: ${w.status || w.error}` })),
    nodes,
    faults: faults.map((f) => ({ t: f.t, label: `${f.op}${f.node ? ` ${f.node}` : ''}${f.note ? ` (${f.note})` : ''}` })),
    bands,
    phases: eventsOf(h, 'phase').map((p) => ({ t: p.t, phase: p.phase })),
    totals: {
      requests: reqs.length,
      errors: reqs.filter((r) => !(r.status >= 200 && r.status < 400)).length,
      writes: writes.length,
      writesAcked: writes.filter((w) => w.status >= 200 && w.status < 300).length,
      probes: eventsOf(h, 'probe').length,
    },
  };
}
