// A probe of GET /status in a process of its own (bench:overload): the load generator's busy
// event loop would otherwise delay the probe's own timing. Prints one JSON line on SIGTERM: the
// worst and the 99th percentile of the probe's round trips, and how many took over 1 s or failed.
// Usage: status-probe.ts <url> <intervalMs>
import { request } from 'undici';

const [url, intervalS] = process.argv.slice(2);
const times: number[] = [];
let failed = 0;
const timer = setInterval(() => {
  const t = performance.now();
  request(url!, { headersTimeout: 5000, bodyTimeout: 5000 }).then(
    async (r) => {
      await r.body.dump();
      times.push(performance.now() - t);
    },
    () => void failed++,
  );
}, Number(intervalS ?? 250));
process.on('SIGTERM', () => {
  clearInterval(timer);
  const sorted = [...times].sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : 0;
  console.log(JSON.stringify({ probes: times.length, worstMs: sorted.at(-1) ?? 0, p99Ms: p99, over1s: times.filter((t) => t > 1000).length, failed }));
  process.exit(0);
});
