import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

// One logger per process; every line carries the node name so that logs of several
// nodes on one machine (gossamer up, the simulator) can be told apart once merged.
export function createLogger(nodeName: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { node: nodeName, pid: process.pid } });
}
