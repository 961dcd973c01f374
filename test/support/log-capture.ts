// A pino logger whose lines a test can read back (warnings are what operators see).
import pino from 'pino';

export function captureLog() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { log, warnings: () => lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40).map((l) => l.msg as string) };
}
