// /gossamer/sync/1.0.0: a data plane asks a control plane for the configuration. One request
// and one response per stream, each a msgpack message; the sender closes its write half to
// mark the end (like the membership probes in src/cluster/probe.ts).
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { ChangeEvent } from '../../entities/types.ts';
import type { ClusterLibp2p } from '../../cluster/host.ts';
import { packMessage, unpackMessage } from '../codec.ts';
import { chunks, readAll, writeAll } from '../../cluster/stream-io.ts';
import { hostPortOf } from '../../cluster/multiaddr-parts.ts';

export const SYNC_PROTOCOL = '/gossamer/sync/1.0.0';
/**
 * A control plane hands each batch of change events (the very bytes it gossips) straight to
 * every data plane: one hop, no answer. It is how data planes get changes (they do not follow
 * the events topic): gossip depends on the mesh, and a data plane not yet grafted, or one that
 * took the control plane for failed on a busy machine, missed events until a repair. 2.0.0: one stream kept open per data plane, each
 * message a 4-byte big-endian length and the bytes (1.0.0 opened a stream per message: a
 * yamux stream, a protocol negotiation and a close before the data plane saw the message,
 * which made every push arrive after the gossiped copy of the same change).
 */
export const PUSH_PROTOCOL = '/gossamer/push/2.0.0';
const MAX_PUSH = 16 * 1024 * 1024;
/** A 10,000-route configuration is a few MB compressed; this only stops runaway peers. */
export const MAX_RESPONSE = 512 * 1024 * 1024;
const MAX_REQUEST = 64 * 1024;

export interface DataPlaneHello {
  node_id: string;
  name: string;
  hostname: string;
  version: string;
}

export type SyncRequest =
  /** The whole configuration, unless the control plane's is the one named by have_*. */
  | { t: 'snapshot'; have_version: number; have_hash: string | null; dp: DataPlaneHello }
  /** Events with config_version > since (at most `limit`). */
  | { t: 'events'; since: number; dp: DataPlaneHello };

export type SyncResponse =
  | { t: 'snapshot'; config_version: number; config_hash: string; encoding: string; data: Uint8Array }
  | { t: 'current'; config_version: number; config_hash: string }
  /** Every committed version in (since, through] not listed is rolled back or not committed yet. */
  | { t: 'events'; events: ChangeEvent[]; through: number; config_version: number; config_hash: string }
  /** The events are no longer all available (cleaned up, database unreachable): take a snapshot. */
  | { t: 'snapshot-needed'; reason: string }
  | { t: 'error'; message: string };

/** One request/response on a fresh stream to `target` (a peer id or a multiaddr). */
export async function syncRequest(libp2p: ClusterLibp2p, target: PeerId | Multiaddr, req: SyncRequest, timeoutMs: number): Promise<{ res: SyncResponse; bytes: number; peer: string }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const conn = await libp2p.dial(target, { signal });
  const stream = await conn.newStream(SYNC_PROTOCOL, { signal });
  try {
    await writeAll(stream, packMessage(req), signal);
    const raw = await readAll(stream, MAX_RESPONSE, signal);
    return { res: unpackMessage<SyncResponse>(raw), bytes: raw.length, peer: conn.remotePeer.toString() };
  } catch (err) {
    stream.abort(err as Error);
    throw err;
  } finally {
    if (stream.status === 'open') await stream.close().catch(() => {});
  }
}

/** Serve the protocol: `answer` gets the decoded request and returns the encoded response. */
export function handleSync(libp2p: ClusterLibp2p, answer: (req: SyncRequest, remote: { peer: string; addr: string }) => Promise<Uint8Array>): Promise<void> {
  return libp2p.handle(
    SYNC_PROTOCOL,
    async (stream, connection) => {
      try {
        const raw = await readAll(stream, MAX_REQUEST, AbortSignal.timeout(10_000));
        const req = unpackMessage<SyncRequest>(raw);
        const out = await answer(req, { peer: connection.remotePeer.toString(), addr: hostPortOf(connection.remoteAddr).host });
        await writeAll(stream, out);
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { maxInboundStreams: 256, maxOutboundStreams: 64, runOnLimitedConnection: false },
  );
}

/** A push stream to `conn`'s peer (see PushChannel, which keeps one per data plane). */
export function openPushStream(conn: Connection, timeoutMs: number): Promise<Stream> {
  return conn.newStream(PUSH_PROTOCOL, { signal: AbortSignal.timeout(timeoutMs), maxOutboundStreams: 4, runOnLimitedConnection: false });
}

/** One message of a push stream: its length (4 bytes, big-endian), then its bytes. */
export function pushFrame(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_PUSH) throw new Error(`push message of ${bytes.length} bytes is larger than ${MAX_PUSH}`);
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** Receive pushes: `onPush` gets each message's bytes, in the order sent, and the pushing peer. */
export function handlePush(libp2p: ClusterLibp2p, onPush: (bytes: Uint8Array, peer: string) => void): Promise<void> {
  return libp2p.handle(
    PUSH_PROTOCOL,
    async (stream, connection) => {
      const peer = connection.remotePeer.toString();
      // Chunks of an incomplete message wait in a list and are joined once it is complete (a
      // large push arrives in many chunks: joining at every chunk would copy it over and over).
      let pending: Uint8Array[] = [];
      let have = 0;
      try {
        for await (const chunk of chunks(stream)) {
          pending.push(chunk);
          have += chunk.byteLength;
          while (have >= 4) {
            if (pending[0]!.length < 4) pending = [Buffer.concat(pending, have)];
            const head = pending[0]!;
            const n = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
            if (n > MAX_PUSH) throw new Error(`push message of ${n} bytes from ${peer} is larger than ${MAX_PUSH}`);
            if (have < 4 + n) break;
            const all = pending.length === 1 ? head : Buffer.concat(pending, have);
            const msg = all.subarray(4, 4 + n);
            const rest = all.subarray(4 + n);
            pending = rest.length ? [rest] : [];
            have = rest.length;
            try {
              onPush(msg, peer);
            } catch {
              // the receiver's own failure (it logs): the next message is still good
            }
          }
        }
        await stream.close().catch(() => {});
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    // One stream per control plane at a time; a few more while a dropped one is replaced.
    { maxInboundStreams: 16, maxOutboundStreams: 1, runOnLimitedConnection: false },
  );
}

export const encodeResponse = (res: SyncResponse): Uint8Array => packMessage(res);
