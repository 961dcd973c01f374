import type { PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { ClusterLibp2p } from './host.ts';
import { decode, encode, PING_REQ_PROTOCOL, PUSH_PULL_PROTOCOL, type PingReq, type PingReqReply, type PushPull } from './messages.ts';
import { ProbeStream } from './probe-stream.ts';
import { readAll, writeAll } from './stream-io.ts';
import type { WireMember } from './state.ts';

// The probe transport: direct probes are libp2p pings; ping-req (SWIM's indirect probe) and
// push-pull (memberlist's full-state sync) are small request/response protocols: one msgpack
// message each way, each side closing its write half to mark the end.

export type PingResult = { ok: true; rtt: number } | { ok: false; refused: boolean; error: string };

export interface ProbeTransport {
  ping(peerId: string, timeoutMs: number): Promise<PingResult>;
  /** 'ack': the helper reached the target; 'nack': it did not; 'none': the helper did not answer. */
  pingReq(helperPeerId: string, target: { peer_id: string; addresses: string[] }, timeoutMs: number, waitMs: number): Promise<'ack' | 'nack' | 'none'>;
  pushPull(peerId: string, msg: PushPull, timeoutMs: number): Promise<PushPull>;
  /** Messages sent / received by this node on the probe protocols (bench: per-node message rate). */
  sent: number;
  received: number;
  /** Requests that had to open a connection first, by kind (bench: where connections come from). */
  cold: Record<'ping' | 'ping_req' | 'ping_req_target' | 'push_pull', number>;
}

const MAX_MESSAGE = 4 * 1024 * 1024;

/**
 * Parsed peer ids by their string: a probe names its member by string four times a second,
 * and parsing one (base58, multihash, the public key inside) is work no probe needs to repeat.
 */
const peerIds = new Map<string, PeerId>();
function parsedPeerId(id: string): PeerId {
  let p = peerIds.get(id);
  if (!p) {
    if (peerIds.size >= 10_000) peerIds.clear();
    p = peerIdFromString(id);
    peerIds.set(id, p);
  }
  return p;
}

/**
 * An abort signal for one request, whose timer goes when the request is done. A signal from
 * AbortSignal.timeout() keeps its timer to the end and then aborts (an event and a
 * DOMException with a stack trace) long after its request answered: one more wake-up per
 * probe. Aborts with the same reason AbortSignal.timeout() gives.
 */
async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(timer);
  }
}

const readMessage = (stream: Stream, signal: AbortSignal) => readAll(stream, MAX_MESSAGE, signal);

/** Settle with `p`, or reject when `signal` aborts first (without cancelling `p`). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('timed out'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A connection to `peer`, dialled under cluster_dial_timeout and shared by every request that
 * needs it. A probe gives up after its own short timeout, but the dial goes on: cut short
 * with the probe, a dial on a busy host (TCP, private-network handshake, noise, yamux) never
 * completed, and every later probe started over.
 */
function connector(libp2p: ClusterLibp2p, dialTimeoutMs: number) {
  const pending = new Map<string, Promise<unknown>>();
  return async (peer: PeerId, signal: AbortSignal): Promise<void> => {
    if (libp2p.getConnections(peer).some((c) => c.status === 'open')) return;
    const key = peer.toString();
    let dial = pending.get(key);
    if (!dial) {
      dial = libp2p.dial(peer, { signal: AbortSignal.timeout(dialTimeoutMs) }).finally(() => pending.delete(key));
      dial.catch(() => {});
      pending.set(key, dial);
    }
    await raceAbort(dial, signal);
  };
}

function request<Req, Res>(libp2p: ClusterLibp2p, connect: ReturnType<typeof connector>, peer: PeerId, protocol: string, req: Req, timeoutMs: number): Promise<Res> {
  return withTimeout(timeoutMs, async (signal) => {
    await connect(peer, signal);
    const stream = await libp2p.dialProtocol(peer, protocol, { signal });
    try {
      await writeAll(stream, encode(req), signal);
      return decode<Res>(await readMessage(stream, signal));
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    } finally {
      if (stream.status === 'open') await stream.close().catch(() => {});
    }
  });
}

export function isRefused(err: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const x = e as { code?: string; message?: string; errors?: unknown[]; cause?: unknown };
    // @libp2p/memory's equivalent of ECONNREFUSED: nothing listens at that address any more.
    if (x.code === 'ECONNREFUSED' || /ECONNREFUSED|No memory listener found/.test(x.message ?? '')) return true;
    return (Array.isArray(x.errors) && x.errors.some(walk)) || walk(x.cause);
  };
  return walk(err);
}

type Echo = (peerId: string, signal: AbortSignal) => Promise<number>;
type ProbeHandlers = { pushPull(msg: PushPull, from: PeerId): PushPull | null; isMember(peerId: string): boolean };

/** A direct probe on the member's kept stream; a concurrent probe of the same member gets a fresh one. */
function keptStreamEcho(libp2p: ClusterLibp2p, connect: ReturnType<typeof connector>): Echo {
  const streams = new Map<string, ProbeStream>();
  libp2p.addEventListener('peer:disconnect', (evt) => {
    streams.get(evt.detail.toString())?.abort(new Error('disconnected'));
    streams.delete(evt.detail.toString());
  });
  return async (peerId, signal) => {
    let s = streams.get(peerId);
    if (s && !s.open) {
      streams.delete(peerId);
      s = undefined;
    }
    if (s?.busy) return libp2p.services.ping.ping(parsedPeerId(peerId), { signal });
    if (!s) {
      await connect(parsedPeerId(peerId), signal);
      s = await ProbeStream.open(libp2p, parsedPeerId(peerId), signal);
      streams.set(peerId, s);
    }
    try {
      return await s.ping(signal);
    } catch (err) {
      if (streams.get(peerId) === s) streams.delete(peerId);
      throw err;
    }
  };
}

/** Counts a request that has to open a connection first. */
function countCold(libp2p: ClusterLibp2p, t: ProbeTransport, kind: keyof ProbeTransport['cold'], peerId: string): void {
  if (libp2p.getConnections(parsedPeerId(peerId)).length === 0) t.cold[kind]++;
}

export function createProbeTransport(libp2p: ClusterLibp2p, handlers: ProbeHandlers, dialTimeoutMs: number): ProbeTransport {
  const connect = connector(libp2p, dialTimeoutMs);
  const echo = keptStreamEcho(libp2p, connect);

  const t: ProbeTransport = {
    sent: 0,
    received: 0,
    cold: { ping: 0, ping_req: 0, ping_req_target: 0, push_pull: 0 },
    async ping(peerId, timeoutMs) {
      t.sent++;
      countCold(libp2p, t, 'ping', peerId);
      try {
        const rtt = await withTimeout(timeoutMs, (signal) => echo(peerId, signal));
        t.received++;
        return { ok: true, rtt };
      } catch (err) {
        return { ok: false, refused: isRefused(err), error: (err as Error).message };
      }
    },
    async pingReq(helperPeerId, target, timeoutMs, waitMs) {
      t.sent++;
      countCold(libp2p, t, 'ping_req', helperPeerId);
      try {
        const r = await request<PingReq, PingReqReply>(libp2p, connect, parsedPeerId(helperPeerId), PING_REQ_PROTOCOL, { target: target.peer_id, addresses: target.addresses, timeout: timeoutMs }, waitMs);
        t.received++;
        return r.ok ? 'ack' : 'nack';
      } catch {
        return 'none';
      }
    },
    async pushPull(peerId, msg, timeoutMs) {
      t.sent++;
      countCold(libp2p, t, 'push_pull', peerId);
      const reply = await request<PushPull, PushPull>(libp2p, connect, parsedPeerId(peerId), PUSH_PULL_PROTOCOL, msg, timeoutMs);
      t.received++;
      return reply;
    },
  };
  serveProbes(libp2p, t, echo, handlers);
  return t;
}

/** The responder side: one request message in, one reply out, counted on `t`. */
async function respond(t: ProbeTransport, stream: Stream, fn: (req: unknown) => Promise<unknown> | unknown): Promise<void> {
  try {
    await withTimeout(10_000, async (signal) => {
      const req = decode<unknown>(await readMessage(stream, signal));
      t.received++;
      const res = await fn(req);
      await writeAll(stream, encode(res), signal);
      t.sent++;
    });
  } catch (err) {
    stream.abort(err as Error);
  }
}

/** Ping-req on behalf of a member, and push-pull for anyone holding the cluster key. */
function serveProbes(libp2p: ClusterLibp2p, t: ProbeTransport, echo: Echo, handlers: ProbeHandlers): void {
  void libp2p.handle(
    PING_REQ_PROTOCOL,
    (stream, connection) => {
      // Only members may make us ping on their behalf (no amplification for a stranger with the key).
      if (!handlers.isMember(connection.remotePeer.toString())) return stream.abort(new Error('not a member'));
      void respond(t, stream, async (req) => {
        const r = req as PingReq;
        const peer = parsedPeerId(r.target);
        // Make sure the target's addresses are known even if we never met it.
        if (Array.isArray(r.addresses) && r.addresses.length) {
          await libp2p.peerStore.merge(peer, { multiaddrs: r.addresses.map((a) => multiaddr(a)) }).catch(() => {});
        }
        t.sent++;
        countCold(libp2p, t, 'ping_req_target', r.target);
        try {
          await withTimeout(Math.max(10, Math.min(r.timeout, 30_000)), (signal) => echo(r.target, signal));
          t.received++;
          return { ok: true } satisfies PingReqReply;
        } catch {
          return { ok: false } satisfies PingReqReply;
        }
      });
    },
    { maxInboundStreams: 64, runOnLimitedConnection: false },
  );

  void libp2p.handle(
    PUSH_PULL_PROTOCOL,
    (stream, connection) => {
      // Anyone holding the cluster key may push-pull: that is how a new node joins.
      void respond(t, stream, (req) => {
        const reply = handlers.pushPull(req as PushPull, connection.remotePeer);
        if (!reply) throw new Error('malformed push-pull');
        return reply;
      });
    },
    { maxInboundStreams: 64, runOnLimitedConnection: false },
  );
}

export type { WireMember };
