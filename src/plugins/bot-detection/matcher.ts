// Kong's examine_agent: the allow list first, then deny, then the default bot rules; the
// User-Agent trimmed. Results are remembered per configuration (Kong's LRU of 10^4 agents).
import { BOT_RULES } from './rules.ts';

export const MATCH_EMPTY = 0;
export const MATCH_ALLOW = 1;
export const MATCH_DENY = 2;
export const MATCH_BOT = 3;

const CACHE_SIZE = 10_000;
const compiled = BOT_RULES.map((r) => new RegExp(r));

export function botMatcher(allow: readonly string[], deny: readonly string[]): (userAgent: string) => number {
  const allowRe = allow.map((r) => new RegExp(r));
  const denyRe = deny.map((r) => new RegExp(r));
  const cache = new Map<string, number>();
  const examine = (ua: string): number => {
    const agent = ua.trim();
    if (allowRe.some((r) => r.test(agent))) return MATCH_ALLOW;
    if (denyRe.some((r) => r.test(agent))) return MATCH_DENY;
    if (compiled.some((r) => r.test(agent))) return MATCH_BOT;
    return MATCH_EMPTY;
  };
  return (ua) => {
    let m = cache.get(ua);
    if (m === undefined) {
      m = examine(ua);
      // Bounded: a client cycling agents cannot grow it; the oldest entry goes first.
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(ua, m);
    }
    return m;
  };
}

/** Whether a User-Agent is refused (deny list or a known bot, and not allowed). */
export function isRefused(match: number): boolean {
  return match > MATCH_ALLOW;
}
