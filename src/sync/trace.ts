// Where the time of one change goes, process by process (bench:hybrid's per-stage table):
// with GOSSAMER_TRACE_CHANGES=DIR in the environment, every process on a change's path
// (the control plane, each data plane's primary, each proxy worker) notes when the change
// passed each stage, on the machine's monotonic clock (process.hrtime: CLOCK_MONOTONIC, one
// clock for every process; `performance.timeOrigin` is fixed from the wall clock at each
// process's start and can be off by milliseconds between processes). Lines go to DIR/<pid>-<ppid>.jsonl (the ppid
// tells a proxy worker from its node's primary), written after the change, never on its path.
// Unset (the normal case), each call is one branch.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.GOSSAMER_TRACE_CHANGES || null;
let lines: string[] = [];
let timer: NodeJS.Timeout | null = null;

/** Monotonic ms with sub-ms precision, comparable between processes of one machine. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const tracingChanges = dir !== null;

export interface TraceLine {
  /** Stage. */
  s: string;
  /** config_version and entity id of the change. */
  v: number;
  id: string;
  /** nowMs() when the change passed the stage. */
  t: number;
  peer?: string;
}

/** Note that these changes passed `stage` (`peer`: the other side, for a stage with one per peer). */
export function traceChanges(stage: string, events: readonly { config_version: number; entity_id: string }[], peer?: string): void {
  if (dir === null || events.length === 0) return;
  const t = nowMs();
  for (const e of events) {
    const line: TraceLine = { s: stage, v: e.config_version, id: e.entity_id, t };
    if (peer) line.peer = peer;
    lines.push(JSON.stringify(line));
  }
  timer ??= setTimeout(flush, 250);
  timer.unref();
}

function flush(): void {
  timer = null;
  if (dir === null || lines.length === 0) return;
  const out = lines.join('\n') + '\n';
  lines = [];
  try {
    fs.appendFileSync(path.join(dir, `${process.pid}-${process.ppid}.jsonl`), out);
  } catch {
    // a bench's scratch folder that went away: nothing to record into
  }
}

if (dir !== null) process.on('exit', flush);
