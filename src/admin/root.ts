// GET / (node information, Kong's shape) and GET /status (Kong's shape: database
// reachability, memory, server connection counters).
import type pg from 'pg';
import type { Router } from './router.ts';
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

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

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
        plugins: { available_on_server: available, enabled_in_cluster: enabled },
        configuration: redactConfig(deps.configSummary),
        pids: { master: process.pid },
      },
    };
  });

  router.add('GET', '/status', async () => {
    const mem = process.memoryUsage();
    const extra = (await deps.statusExtra?.()) ?? {};
    return {
      status: 200,
      body: {
        database: { reachable: await reachable(deps.pool) },
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
