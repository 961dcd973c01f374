import pino, { type Logger, type LevelWithSilent } from 'pino';
import type { Config } from './config/index.ts';

export type { Logger };

// One logger per process; every line carries the node name so that logs of several
// nodes on one machine (gossamer up, the simulator) can be told apart once merged.
export function createLogger(nodeName: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { node: nodeName, pid: process.pid } });
}

/** Kong's log_level names as pino levels (pino has no notice, crit, alert or emerg). */
export const PINO_LEVEL: Record<Config['log_level'], 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  error: 'error',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
};
