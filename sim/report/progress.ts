// The live progress line: phase, elapsed, req/s, errors, writes, the fault in force.
import type { HistoryEvent, PhaseEvent, Recorder } from '../history.ts';

export interface Progress {
  phase(name: string): void;
  fault(label: string): void;
  log(line: string): void;
  stop(): void;
}

export function startProgress(recorder: Recorder, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const out = opts.stream ?? process.stderr;
  const tty = !!out.isTTY;
  let phase = 'setup';
  let fault = '-';
  let seen = 0;
  let lastLine = '';
  const totals = { req: 0, err: 0, wOk: 0, wFail: 0 };
  let lastPrint = 0;
  const tick = () => {
    const ev = recorder.history.events;
    let req = 0;
    for (; seen < ev.length; seen++) {
      const e: HistoryEvent = ev[seen]!;
      if (e.kind === 'request') {
        req++;
        totals.req++;
        if (!(e.status >= 200 && e.status < 400)) totals.err++;
      } else if (e.kind === 'write') {
        if (e.status >= 200 && e.status < 300) totals.wOk++;
        else totals.wFail++;
      }
    }
    lastLine = `[${phase}] ${(recorder.now() / 1000).toFixed(1)}s  ${req} req/s  errors ${totals.err}/${totals.req}  writes ${totals.wOk} ok ${totals.wFail} failed  fault: ${fault}`;
    if (opts.quiet) return;
    if (tty) out.write(`\r\x1b[2K${lastLine}`);
    else if (recorder.now() - lastPrint >= 5000) {
      lastPrint = recorder.now();
      out.write(`${lastLine}\n`);
    }
  };
  const timer = setInterval(tick, 1000);
  const clear = () => {
    if (tty && !opts.quiet) out.write('\r\x1b[2K');
  };
  return {
    phase(name) {
      phase = name;
      recorder.add<PhaseEvent>({ kind: 'phase', phase: name });
    },
    fault(label) {
      fault = label;
    },
    log(line) {
      if (opts.quiet) return;
      clear();
      out.write(`${(recorder.now() / 1000).toFixed(1).padStart(6)}s  ${line}\n`);
      if (tty && lastLine) out.write(lastLine);
    },
    stop() {
      clearInterval(timer);
      tick();
      clear();
      if (!opts.quiet && !tty) out.write(`${lastLine}\n`);
    },
  };
}
