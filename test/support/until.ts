/** Poll `fn` every 100 ms until it returns a value; errors count as "not yet". */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000, detail?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${detail ? `\n${detail()}` : ''}`);
}
