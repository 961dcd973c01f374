// Kong's `healthchecks` object of an upstream, with Kong's defaults filled in, so the
// balancer can read it without guards. 0 in an interval or threshold means "disabled".
export interface HealthchecksConfig {
  active: {
    type: string;
    timeout: number;
    concurrency: number;
    http_path: string;
    headers: Record<string, string[]> | null;
    healthy: { interval: number; http_statuses: number[]; successes: number };
    unhealthy: { interval: number; http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  passive: {
    type: string;
    healthy: { http_statuses: number[]; successes: number };
    unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
  };
  threshold: number;
}

const DEFAULTS: HealthchecksConfig = {
  active: {
    type: 'http',
    timeout: 1,
    concurrency: 10,
    http_path: '/',
    headers: null,
    healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
    unhealthy: { interval: 0, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  passive: {
    type: 'http',
    healthy: {
      http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
      successes: 0,
    },
    unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
  },
  threshold: 0,
};

function merge<T>(def: T, given: unknown): T {
  if (given === null || given === undefined) return def;
  if (typeof def !== 'object' || def === null || Array.isArray(def)) return given as T;
  const out: Record<string, unknown> = { ...(def as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
    out[k] = k in out ? merge(out[k], v) : v;
  }
  return out as T;
}

export function healthchecksConfig(given: unknown): HealthchecksConfig {
  return merge(DEFAULTS, given);
}
