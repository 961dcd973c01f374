// `gossamer start` for a data plane forks its proxy workers before the configuration is fully
// validated: a worker takes about a second to boot, the validation (zod, every key) a few
// hundred ms, and a data plane restarted while its control planes are down must serve its
// cache within 2 s. This reads only what decides the fork — cluster_role, proxy_listen,
// worker_processes, from the file and the environment, with load.ts's precedence — and the
// caller checks the guess against the validated configuration (extra workers are stopped,
// missing ones forked by the proxy as usual).
import fs from 'node:fs';
import os from 'node:os';
import { parseConf } from '../config/parse-conf.ts';

/** How many proxy workers a data plane configured so would run, or 0 when it does not look like one. */
export function guessDataPlaneWorkers(file: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw: Record<string, string> = {};
  if (file) {
    try {
      for (const e of parseConf(fs.readFileSync(file, 'utf8')).entries) raw[e.key.toLowerCase()] = e.value;
    } catch {
      return 0; // the real loader says what is wrong with the file
    }
  }
  const get = (k: string) => env[`GOSSAMER_${k.toUpperCase()}`] ?? env[`KONG_${k.toUpperCase()}`] ?? raw[k];
  if (get('cluster_role')?.trim() !== 'data_plane') return 0;
  if ((get('proxy_listen') ?? '').trim() === 'off') return 0;
  const n = (get('worker_processes') ?? 'auto').trim();
  if (n === 'auto') return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  return /^\d+$/.test(n) && Number(n) >= 1 && Number(n) <= 256 ? Number(n) : 0;
}
