// /gossamer/sync/1.0.0: a data plane asks a control plane for the configuration. One request
// and one response per stream, each a msgpack message; the sender closes its write half to
// mark the end (like the membership probes in src/cluster/probe.ts).
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { ChangeEvent } from '../entities/types.ts';
import type { ClusterLibp2p } from '../cluster/host.ts';
import { packMessage, unpackMessage } from './codec.ts';

export const SYNC_PROTOCOL = '/gossamer/sync/1.0.0';
/**
 * A control plane hands each batch of change events (the very bytes it gossips) straight to
 * every data plane that synced from it: one hop on a connection already open, one message per
 * stream, no answer. Gossip alone depends on the mesh: a data plane not yet grafted, or one
 * that took the control plane for failed on a busy machine, missed events until a repair.
 */
export const PUSH_PROTOCOL = '/gossamer/push/1.0.0';
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

export async function readAll(stream: Stream, limit: number, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const onAbort = () => stream.abort(new Error('timed out'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream.source) {
      const bytes = chunk.subarray();
      size += bytes.length;
      if (size > limit) throw new Error(`message larger than ${limit} bytes`);
      parts.push(bytes);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, size);
}

/** One request/response on a fresh stream to `target` (a peer id or a multiaddr). */
export async function syncRequest(libp2p: ClusterLibp2p, target: PeerId | Multiaddr, req: SyncRequest, timeoutMs: number): Promise<{ res: SyncResponse; bytes: number; peer: string }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const conn = await libp2p.dial(target, { signal });
  const stream = await conn.newStream(SYNC_PROTOCOL, { signal });
  try {
    await stream.sink([packMessage(req)]);
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
    async ({ stream, connection }) => {
      try {
        const raw = await readAll(stream, MAX_REQUEST, AbortSignal.timeout(10_000));
        const req = unpackMessage<SyncRequest>(raw);
        const opts = connection.remoteAddr.toOptions();
        const out = await answer(req, { peer: connection.remotePeer.toString(), addr: opts.host });
        await stream.sink([out]);
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { maxInboundStreams: 256, maxOutboundStreams: 64, runOnLimitedConnection: false },
  );
}

/** Send one push on `conn` (no dial: a data plane not connected repairs when it reconnects). */
export async function pushOn(conn: Connection, bytes: Uint8Array, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  // negotiateFully false: the protocol name goes out with the message, saving a round trip.
  const stream = await conn.newStream(PUSH_PROTOCOL, { signal, negotiateFully: false, maxOutboundStreams: 256 });
  try {
    await stream.sink([bytes]);
  } catch (err) {
    stream.abort(err as Error);
    throw err;
  }
}

/** Receive pushes: `onPush` gets the message bytes and the pushing peer. */
export function handlePush(libp2p: ClusterLibp2p, onPush: (bytes: Uint8Array, peer: string) => void): Promise<void> {
  return libp2p.handle(
    PUSH_PROTOCOL,
    async ({ stream, connection }) => {
      try {
        const raw = await readAll(stream, MAX_PUSH, AbortSignal.timeout(10_000));
        await stream.close().catch(() => {});
        onPush(raw, connection.remotePeer.toString());
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { maxInboundStreams: 256, maxOutboundStreams: 1, runOnLimitedConnection: false },
  );
}

export const encodeResponse = (res: SyncResponse): Uint8Array => packMessage(res);
