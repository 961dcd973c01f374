// Hybrid mode in the simulator, end to end with real processes: a control plane on Postgres and
// three data planes behind the balancer; the control plane is SIGKILLed under load and
// restarted. The data planes must keep serving, see it fail and return, and serve the writes
// made on it before and after. A shortened hybrid-cp-loss.yaml (same bounds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runScenario } from '../../sim/run.ts';
import { loadScenario } from '../../sim/scenario.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-hybrid-'));
fs.chmodSync(tmp, 0o777);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('hybrid-cp-loss: data planes serve through the loss of the control plane and converge after its return', async () => {
  const full = loadScenario('sim/scenarios/hybrid-cp-loss.yaml');
  const scenario = { ...full, duration: 24, faults: [{ at: 5, op: 'cp-loss' as const }, { at: 11, op: 'cp-restore' as const }] };
  const r = await runScenario({ scenario, seed: 3, outDir: path.join(tmp, 'run'), quiet: true });
  expect(r.notes.filter((n) => /still listening|had not formed|could not read Postgres/.test(n)), r.table).toEqual([]);
  expect(r.result.ok, r.table).toBe(true);
  const verdicts = Object.fromEntries(r.result.verdicts.map((v) => [v.invariant, v]));
  for (const name of ['availability', 'detection', 'recovery', 'convergence', 'durability', 'membership']) {
    expect(verdicts[name]!.judged, `${name} judged nothing\n${r.table}`).toBeGreaterThan(0);
  }
  const h = JSON.parse(fs.readFileSync(r.files.json, 'utf8')).history;
  // Writes went to the control plane, before the loss and after the restore.
  const writes = h.events.filter((e: { kind: string }) => e.kind === 'write');
  const restore = h.events.find((e: { kind: string; op?: string }) => e.kind === 'fault' && e.op === 'cp-restore').t;
  expect(new Set(writes.map((w: { node: string }) => w.node))).toEqual(new Set(['cp']));
  expect(writes.some((w: { t: number; status: number }) => w.t > restore && w.status < 300), r.table).toBe(true);
  expect(h.control_planes).toEqual(['cp']);
}, 240_000);
