/** The checker's judgement of one invariant. `measured` is what the table shows next to `bound`. */
export interface Verdict {
  invariant: string;
  ok: boolean;
  bound: string;
  measured: string;
  /** How many cases were judged (writes, faults, requests...), and how many could not be. */
  judged: number;
  skipped?: number;
  /** The first failures, one line each, with times and nodes. */
  failures: string[];
}

export const MAX_FAILURE_LINES = 20;

export function verdict(v: Omit<Verdict, 'ok' | 'failures'> & { failures: string[]; ok?: boolean }): Verdict {
  return {
    ...v,
    ok: v.ok ?? v.failures.length === 0,
    failures: v.failures.length > MAX_FAILURE_LINES
      ? [...v.failures.slice(0, MAX_FAILURE_LINES), `... and ${v.failures.length - MAX_FAILURE_LINES} more`]
      : v.failures,
  };
}
