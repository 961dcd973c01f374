// `--set key=value,...` of the cluster benchmarks (bench:idle, bench:scale): extra config for
// every node, in kong.conf names, to compare settings side by side.

/** The pairs of a `--set` value (undefined: none); a value may itself hold `=`. */
export function parseSetOption(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (text ?? '').split(',').filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--set needs key=value pairs separated by commas, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}
