// The checker: a pure function from a recorded History and the scenario's bounds to verdicts.
import type { History } from '../history.ts';
import type { Invariants } from '../scenario.ts';
import { checkAvailability } from './availability.ts';
import { checkConvergence, checkStaleReads } from './convergence.ts';
import { checkDbOutageWrites } from './db-outage.ts';
import { checkDetection, checkRecovery } from './detection.ts';
import { checkDurability } from './durability.ts';
import { checkCrashes, checkMembership } from './membership.ts';
import type { Verdict } from './verdict.ts';

export type { Verdict } from './verdict.ts';

export interface CheckResult {
  ok: boolean;
  verdicts: Verdict[];
}

/** `inv` as parsed from a scenario; hand-written bounds may leave any invariant out. */
export function check(h: History, inv: Partial<Invariants>): CheckResult {
  const v: Verdict[] = [];
  if (inv.availability) v.push(checkAvailability(h, inv.availability));
  if (inv.detection) v.push(checkDetection(h, inv.detection));
  if (inv.recovery) v.push(checkRecovery(h, inv.recovery));
  if (inv.convergence) v.push(checkConvergence(h, inv.convergence));
  if (inv.stale_reads) v.push(checkStaleReads(h, inv.stale_reads));
  if (inv.durability) v.push(checkDurability(h));
  if (inv.membership) v.push(checkMembership(h));
  if (inv.crashes) v.push(checkCrashes(h));
  if (inv.db_outage_writes) v.push(checkDbOutageWrites(h, inv.db_outage_writes));
  return { ok: v.every((x) => x.ok), verdicts: v };
}

export function verdictTable(r: CheckResult): string {
  const rows = r.verdicts.map((v) => [v.ok ? 'PASS' : 'FAIL', v.invariant, v.bound, v.measured]);
  const widths = [4, 16, 0, 0].map((w, i) => Math.max(w, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ');
  const out = [line(['', 'invariant', 'bound', 'measured']), ...rows.map(line)];
  for (const v of r.verdicts) for (const f of v.failures) out.push(`  ${v.invariant}: ${f}`);
  out.push(r.ok ? 'verdict: every invariant holds' : `verdict: ${r.verdicts.filter((v) => !v.ok).length} invariant(s) violated`);
  return out.join('\n');
}
