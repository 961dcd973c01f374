// GET / (node information, Kong's shape) and GET /status (Kong's shape: database
// reachability, memory, server connection counters).
import type pg from 'pg';
import type { Router } from './router.ts';
import { badRequest } from '../entities/errors.ts';
import { plugins as registry, availablePlugins } from '../plugins/registry.ts';

export interface NodeInfo {
  id: string;
  name: string;
  hostname: string;
  version: string;
  role: string;
}

export interface ServerCounters {
  connections_active: number;
  connections_accepted: number;
  connections_handled: number;
  connections_reading: number;
  connections_writing: number;
  connections_waiting: number;
  total_requests: number;
}

const SECRET_KEY = /password|secret|(^|_)key$|cert_key|token|credential/i;

/**
 * The configuration as GET / shows it: passwords, secrets and private keys as Kong shows its
 * sensitive keys, `******`. The keys declared secret already are (config/load.ts); the names
 * are matched again so that a key added without the flag is not shown either.
 */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = SECRET_KEY.test(k) ? '******' : v;
  return out;
}

const UNITS: Record<string, [number, string]> = { k: [1024, 'KiB'], m: [1024 ** 2, 'MiB'], g: [1024 ** 3, 'GiB'] };

/** Kong's memory figures (kong/api/routes/kong.lua): `?unit=b|k|m|g` (MiB by default) and `?scale=` decimals. */
function memoryFormat(query: URLSearchParams): (bytes: number) => number | string {
  const unit = query.get('unit') ?? 'm';
  const scale = Number(query.get('scale') ?? 2);
  if (unit === 'b' || unit === 'B') return (n) => n;
  const u = UNITS[unit.toLowerCase()];
  if (!u) throw badRequest(`invalid unit '${unit}' (expected 'k/K', 'm/M', or 'g/G')`);
  const digits = Number.isInteger(scale) && scale >= 0 && scale <= 20 ? scale : 2;
  return (n) => `${(n / u[0]).toFixed(digits)} ${u[1]}`;
}

async function reachable(pool: pg.Pool | null, timeoutMs = 2000): Promise<boolean> {
  if (!pool) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pool.query('SELECT 1').then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function registerRoot(
  router: Router,
  deps: {
    pool: pg.Pool | null;
    nodeInfo: NodeInfo;
    configSummary: Record<string, unknown>;
    counters: ServerCounters;
    statusExtra?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  },
): void {
  router.add('GET', '/', async () => {
    let enabled: string[] = [];
    if (deps.pool) {
      try {
        const { rows } = await deps.pool.query('SELECT DISTINCT name FROM plugins ORDER BY name');
        enabled = rows.map((r) => r.name as string);
      } catch {
        enabled = []; // GET / stays up when the database is not: it is how operators debug.
      }
    }
    const available: Record<string, { priority: number; version: string }> = {};
    for (const name of availablePlugins()) available[name] = { priority: registry[name]!.priority, version: deps.nodeInfo.version };
    return {
      status: 200,
      body: {
        version: deps.nodeInfo.version,
        node_id: deps.nodeInfo.id,
        node_name: deps.nodeInfo.name,
        hostname: deps.nodeInfo.hostname,
        role: deps.nodeInfo.role,
        tagline: 'Welcome to gossamer',
        edition: 'community',
        plugins: { available_on_server: available, enabled_in_cluster: enabled },
        configuration: redactConfig(deps.configSummary),
        // Proxy workers are this node's child processes; the Admin API runs in the primary.
        pids: { master: process.pid, workers: [] },
      },
    };
  });

  router.add('GET', '/status', async (req) => {
    const mib = memoryFormat(req.query);
    const mem = process.memoryUsage();
    const extra = (await deps.statusExtra?.()) ?? {};
    return {
      status: 200,
      body: {
        // A node whose configuration part already tracks Postgres says so in `extra`: a load
        // balancer polling /status of every node then costs the database nothing.
        database: 'database' in extra ? undefined : { reachable: await reachable(deps.pool) },
        memory: {
          workers_lua_vms: [{ pid: process.pid, http_allocated_gc: mib(mem.heapUsed) }],
          lua_shared_dicts: {},
          rss: mib(mem.rss),
        },
        server: { ...deps.counters },
        ...extra,
      },
    };
  });
}
