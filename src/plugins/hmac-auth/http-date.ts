// ngx.parse_http_time (nginx's ngx_parse_http_time): the three HTTP date forms, and nothing else,
// so a Date that nginx would refuse is refused here too (JavaScript's Date.parse takes far more).
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Each form with the order of its captures: day, month, year, hour, minute, second. */
const FORMS: { re: RegExp; order: [number, number, number, number, number, number] }[] = [
  // Sun, 06 Nov 1994 08:49:37 GMT
  { re: /^[A-Za-z]+, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})/, order: [1, 2, 3, 4, 5, 6] },
  // Sunday, 06-Nov-94 08:49:37 GMT
  { re: /^[A-Za-z]+, (\d{1,2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/, order: [1, 2, 3, 4, 5, 6] },
  // Sun Nov  6 08:49:37 1994
  { re: /^[A-Za-z]+ ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})/, order: [2, 1, 6, 3, 4, 5] },
];

/** Seconds since the epoch, or null when `s` is not an HTTP date. */
export function parseHttpDate(s: string): number | null {
  for (const { re, order } of FORMS) {
    const m = re.exec(s);
    if (m === null) continue;
    const [day, month, year, hour, minute, second] = order.map((i) => m[i]!);
    const mon = MONTHS.indexOf(month!);
    let y = Number(year);
    if (year!.length === 2) y += y < 70 ? 2000 : 1900;
    const [D, H, M, S] = [Number(day), Number(hour), Number(minute), Number(second)];
    if (mon === -1 || D < 1 || D > 31 || H > 23 || M > 59 || S > 59) return null;
    return Date.UTC(y, mon, D, H, M, S) / 1000;
  }
  return null;
}
