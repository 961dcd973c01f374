import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

// One logger per process; every line carries the node name so that logs of several
// nodes on one machine (gossamer up, the simulator) can be told apart once merged.
export function createLogger(nodeName: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { node: nodeName, pid: process.pid } });
}

/** Kong's log_level values (the configuration key's choices). */
export type KongLogLevel = 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit' | 'alert' | 'emerg';

/**
 * Kong's log_level names as pino levels (pino has no notice, crit, alert or emerg). Kept here,
 * not beside the configuration key: every part imports this module, and it imports nothing of ours.
 */
export const PINO_LEVEL: Record<KongLogLevel, 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  error: 'error',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
};
