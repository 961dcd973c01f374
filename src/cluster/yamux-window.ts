import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

// js-yamux answers every data frame it receives with a window update frame (stream.js,
// sendWindowUpdate: "a window update isn't needed" only when nothing at all was consumed). A
// probe is one 32-byte frame each way, so each probe became four frames, four noise messages
// and four TCP segments instead of two: half the cluster traffic of an idle node was window
// updates. go-yamux, libp2p's reference muxer, and hashicorp/yamux send one only when at
// least half the receive window is used up, or a flag must go out; this does the same. Flow
// control is unchanged: a sender runs dry only after a whole window, which is well past half,
// and a paused stream still sends nothing until it resumes. There is no option for this in
// js-yamux, so the method is replaced once, for every yamux stream of the process.

interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
  maxStreamWindowSize: number;
  epochStart: number;
  getRTT(): number;
  getSendFlags(): number;
  sendFrame(header: { type: number; flag: number; streamID: number; length: number }): boolean;
  streamId: number;
}

/** yamux's frame type for a window update (frame.ts FrameType.WindowUpdate). */
const WINDOW_UPDATE = 1;

function sendWindowUpdate(this: WindowFields): void {
  if (this.state === StreamState.Paused) {
    // As js-yamux: the epoch starts again when the stream resumes.
    this.epochStart = Date.now();
    return;
  }
  const flags = this.getSendFlags();
  const used = this.recvWindow - this.recvWindowCapacity;
  if (flags === 0 && used < this.recvWindow / 2) return;
  const now = Date.now();
  const rtt = this.getRTT();
  // js-yamux's auto-tuning, kept: a window used up within four round trips doubles.
  if (flags === 0 && rtt > -1 && now - this.epochStart <= rtt * 4) {
    this.recvWindow = Math.min(this.recvWindow * 2, this.maxStreamWindowSize);
  }
  const delta = this.recvWindow - this.recvWindowCapacity;
  this.recvWindowCapacity = this.recvWindow;
  this.epochStart = now;
  this.sendFrame({ type: WINDOW_UPDATE, flag: flags, streamID: this.streamId, length: delta });
}

let installed = false;

/** Replaces YamuxStream's window update policy with go-yamux's (idempotent). */
export function installYamuxWindowPolicy(): void {
  if (installed) return;
  installed = true;
  (YamuxStream.prototype as unknown as { sendWindowUpdate: typeof sendWindowUpdate }).sendWindowUpdate = sendWindowUpdate;
}
