// Kong's fixed windows: second..day are multiples of their length since the epoch; month and
// year follow the (UTC) calendar.
export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

/** Lengths of the fixed windows (ms). */
const FIXED_MS: Partial<Record<Period, number>> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** End of the window containing `now` (ms epoch, exclusive). */
export function windowEnd(period: Period, now: number): number {
  const len = FIXED_MS[period];
  if (len) return (Math.floor(now / len) + 1) * len;
  const d = new Date(now);
  if (period === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return Date.UTC(d.getUTCFullYear() + 1, 0, 1);
}

export const HEADER_SUFFIX: Record<Period, string> = {
  second: 'Second',
  minute: 'Minute',
  hour: 'Hour',
  day: 'Day',
  month: 'Month',
  year: 'Year',
};
