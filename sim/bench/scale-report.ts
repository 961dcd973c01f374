// bench:scale's tables: every figure of one cluster size next to its reference (memberlist's
// documented suspicion timeout at that size, Kong's 5 s db_update_frequency poll) and the goal
// of issue #17, and a summary across sizes.
import { memberlistLanSettings, defaultSettings } from '../../src/cluster/settings.ts';
import { suspicionMinTimeout } from '../../src/cluster/suspicion.ts';
import type { SteadyResult, Trial } from './scale-measure.ts';
import { pct } from './stats.ts';

export interface SizeResult {
  n: number;
  /** How the nodes were networked, in words. */
  net: string;
  /** Loss across zones during the trials and the first steady window (0 on plain loopback). */
  loss: number;
  bootS: number;
  convergeMs: number;
  kill: Trial[];
  stop: Trial[];
  route: Trial[];
  /** The counted route changes as the nodes traced them: commit → the last proxy worker's router. */
  routeTraced: Trial[];
  /** Route changes nobody probes, read from the traces only (quietRouteTrial). */
  routeQuiet: Trial[];
  /** Route changes before the counted ones (cold code paths right after the start), printed apart. */
  routeWarmup: Trial[];
  /** Route changes written on a control plane, served by N − 1 data planes (--hybrid); undefined when not run. */
  hybridRoute: Trial[] | undefined;
  steady: { loss: number; result: SteadyResult }[];
  /** Per idle node (measureIdle), taken after the first steady window; undefined when the cluster never formed. */
  idle?: string[];
  problems: string[];
}

const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const msf = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a');

/** memberlist (DefaultLANConfig): SuspicionMult · max(1, log10 N) · ProbeInterval, up to SuspicionMaxTimeoutMult × that. */
export function memberlistSuspicion(n: number): { min: number; max: number } {
  const l = { ...defaultSettings, ...memberlistLanSettings };
  const min = suspicionMinTimeout(l.suspicion_mult, n, l.probe_interval_ms);
  return { min, max: l.suspicion_max_timeout_mult * min };
}

function gossamerSuspicion(n: number): { min: number; max: number } {
  const min = suspicionMinTimeout(defaultSettings.suspicion_mult, n, defaultSettings.probe_interval_ms);
  return { min, max: defaultSettings.suspicion_max_timeout_mult * min };
}

export const KONG_POLL = "Kong: db_update_frequency 5 s poll (a change waits up to 5 s, 2.5 s on average)";

function dist(trials: Trial[], unit: (ms: number) => string): string {
  const v = trials.map((t) => t.ms).filter(Number.isFinite);
  const missed = trials.length - v.length;
  return `p50 ${unit(pct(v, 50))}  p99 ${unit(pct(v, 99))}  (${v.length} trials${missed ? `, ${missed} missed` : ''})`;
}

const goal = (ok: boolean | undefined, text: string) => `goal ${text}${ok === undefined ? '' : ok ? ' ✓' : ' ✗'}`;

function p99ok(trials: Trial[], boundMs: number): boolean | undefined {
  const v = trials.map((t) => t.ms).filter(Number.isFinite);
  if (!trials.length) return undefined;
  return v.length === trials.length && pct(v, 99) <= boundMs;
}

export function sizeTable(r: SizeResult): string[] {
  const ml = memberlistSuspicion(r.n);
  const ours = gossamerSuspicion(r.n);
  const mlRef = `memberlist suspicion 4·max(1, log10 ${r.n})·1 s = ${s(ml.min)} … ×6 = ${s(ml.max)}`;
  const lossTxt = `${(r.loss * 100).toFixed(r.loss < 0.01 && r.loss > 0 ? 2 : 0)} % loss`;
  const rows: [string, string, string][] = [
    [`converge: last start → all see ${r.n} alive`, s(r.convergeMs), goal(Number.isFinite(r.convergeMs) ? r.convergeMs <= 5000 : false, '≤ 5 s (50 nodes)')],
    ['SIGKILL → failed on every survivor', dist(r.kill, s), `${mlRef}; ${goal(p99ok(r.kill, 3000), 'p99 ≤ 3 s')}`],
    ['SIGSTOP → failed on every survivor', dist(r.stop, s), `${mlRef}; ${goal(p99ok(r.stop, 4000), 'p99 ≤ 4 s')}`],
    ['route change → served by every node (DB mode)', dist(r.route, msf), `${KONG_POLL}; ${goal(p99ok(r.route, 250), 'p99 ≤ 250 ms')}`],
    ['  traced: commit → router updated on every node', dist(r.routeTraced, msf), 'the same changes in the nodes\' traces, without the probes\' answer times (their load stays)'],
    ['  not probed: the same, traced, nobody probing', dist(r.routeQuiet, msf), `the system without the probes' load; ${goal(p99ok(r.routeQuiet, 250), 'p99 ≤ 250 ms')}`],
    ['  the first changes after the start (not counted)', r.routeWarmup.length ? r.routeWarmup.map((t) => msf(t.ms)).join(', ') : 'none made', 'cold code paths on every node (--route-warmup)'],
    r.hybridRoute
      ? [`route change, control plane + ${r.n - 1} data planes`, dist(r.hybridRoute, msf), `plain loopback; ${KONG_POLL}; ${goal(p99ok(r.hybridRoute, 250), 'p99 ≤ 250 ms')}`]
      : [`route change, control plane + ${r.n - 1} data planes`, 'not measured', 'run with --hybrid'],
    ...r.steady.map((w): [string, string, string] => [
      `false failures, ${w.result.seconds} s steady, ${(w.loss * 100).toFixed(w.loss > 0 && w.loss < 0.01 ? 2 : 0)} % loss`,
      `${w.result.failed.length} (${w.result.suspected} suspicions)`,
      goal(w.result.failed.length === 0, '0'),
    ]),
    ['per idle node: CPU, RSS, msgs/s, conns; Postgres', r.idle ? r.idle.join('; ') : 'not measured here', 'issue goal: CPU ≤ 2 % per node, flat in N; Postgres ≤ 2 connections per node'],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return [
    `== N = ${r.n}: ${r.net}; trials at ${lossTxt}; ${r.n} nodes answered ${s(r.bootS * 1000)} after the first start`,
    `   Gossamer defaults: suspicion ${s(ours.min)} … ${s(ours.max)} at this size`,
    `   ${'figure'.padEnd(w0)}  ${'measured'.padEnd(w1)}  reference`,
    ...rows.map(([a, b, c]) => `   ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`),
    ...r.problems.map((p) => `   problem: ${p}`),
  ];
}

export function summaryTable(results: SizeResult[]): string[] {
  const pp = (t: Trial[], unit: (ms: number) => string) => {
    const v = t.map((x) => x.ms).filter(Number.isFinite);
    return `${unit(pct(v, 50))} / ${unit(pct(v, 99))}`;
  };
  const head = ['N', 'converge', 'SIGKILL p50/p99', 'SIGSTOP p50/p99', 'route p50/p99', 'false failures', 'memberlist suspicion', 'Kong poll'];
  const rows = results.map((r) => {
    const ml = memberlistSuspicion(r.n);
    return [String(r.n), s(r.convergeMs), pp(r.kill, s), pp(r.stop, s), pp(r.route, msf), r.steady.map((w) => `${w.result.failed.length} @${(w.loss * 100).toFixed(w.loss > 0 && w.loss < 0.01 ? 2 : 0)}%`).join(', '), `${s(ml.min)} … ${s(ml.max)}`, '5 s'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `   ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`;
  return ['== summary', line(head), ...rows.map(line)];
}
