/** A config entry `name:value` (Kong's colon pairs): split at the first colon. */
export function splitPair(s: string): [string, string] {
  const i = s.indexOf(':');
  return [s.slice(0, i), s.slice(i + 1)];
}
