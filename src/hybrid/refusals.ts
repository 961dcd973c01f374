// A node holding another cluster key cannot complete a connection: the private-network layer
// (libp2p pnet, XSalsa20 keyed by the PSK) turns its bytes into noise. libp2p only notices
// later, as an encryption failure or a timeout — which also happen to peers that share the key
// (a dial race, a peer stopping mid-handshake, an overloaded machine) — and says so only in
// its debug log. Here the decrypted stream is checked where the answer is certain: the first
// bytes either side receives are multistream-select's header, `\x13/multistream/1.0.0\n`.
// Anything else means the two keys differ; the connection is closed at once (the dialler
// no longer waits for its dial timeout) and both sides log it. The protector is wrapped once
// per host, from outside, so src/cluster/host.ts stays as it is.
//
// Why a patch of libp2p's components and not a public API (checked against libp2p 3.3):
// - events: `connection:open`, `peer:connect` and `connection:close` fire only for upgraded
//   connections; one that fails inside the protector or the noise handshake emits none.
// - the connection gater: `denyInbound/OutboundEncryptedConnection` run after a successful
//   handshake, `denyInboundConnection` before any byte is read; none sees the failure.
// - the noise handshake error is generic (a decryption failure, or a timeout if the peer
//   drops bytes), the same as for a peer that dies mid-handshake.
// The public way is libp2p's `connectionProtector` option, a factory of ConnectionProtector
// (a public interface): host.ts could pass `(c) => checked(preSharedKey({ psk })(c))`, the
// same check as below without reaching into `libp2p.components`. That needs an option in
// src/cluster/host.ts (createHost), which this part does not own; until then this wrapper
// runs on the same objects, once per host, and does nothing if libp2p's layout changes
// (no components, no protect(): the refusal is then only logged as a dial failure).
// The protected connection is a libp2p 3 message stream: its received bytes are 'message'
// events sent through its dispatchEvent, which is where they are checked (the same hook as
// src/cluster/handshake-refusals.ts, which counts them; it sees every chunk this one passes on).
import type { ClusterLibp2p } from '../cluster/host.ts';
import { hostPortOf } from '../cluster/multiaddr-parts.ts';
import type { Logger } from '../log.ts';

const HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n');

export class ClusterKeyMismatchError extends Error {
  override name = 'ClusterKeyMismatchError';
  constructor(remote: string) {
    super(`peer ${remote} does not share the cluster key (psk mismatch)`);
  }
}

type Chunk = Uint8Array | { subarray(): Uint8Array };
interface MaConn {
  remoteAddr?: Parameters<typeof hostPortOf>[0];
  direction?: 'inbound' | 'outbound';
}
interface Protected {
  dispatchEvent(evt: Event): boolean;
  abort(err: Error): void;
}
interface Protector {
  protect(conn: MaConn, opts?: unknown): Promise<Protected>;
  __gossamerChecked?: boolean;
}

function remoteOf(conn: MaConn): string {
  try {
    const o = hostPortOf(conn.remoteAddr!);
    return `${o.host}:${o.port}`;
  } catch {
    return 'unknown';
  }
}

function isPrefix(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length && i < HEADER.length; i++) if (buf[i] !== HEADER[i]) return false;
  return true;
}

/** Calls `onMismatch` once if the first bytes `out` delivers are not multistream-select's header; passes every event on. */
function checkHeader(out: Protected, onMismatch: () => void): void {
  const dispatch = out.dispatchEvent.bind(out);
  let head = new Uint8Array(0);
  out.dispatchEvent = (evt: Event): boolean => {
    if (evt.type !== 'message') return dispatch(evt);
    const data = (evt as Event & { data: Chunk }).data;
    const bytes = data instanceof Uint8Array ? data : data.subarray();
    const joined = new Uint8Array(head.length + bytes.length);
    joined.set(head);
    joined.set(bytes, head.length);
    if (!isPrefix(joined)) {
      out.dispatchEvent = dispatch;
      onMismatch();
    } else if (joined.length >= HEADER.length) {
      out.dispatchEvent = dispatch;
    } else {
      head = joined;
    }
    return dispatch(evt);
  };
}

export function logRefusedConnections(libp2p: ClusterLibp2p, log: Logger, everyMs = 30_000): void {
  const components = (libp2p as unknown as { components?: { connectionProtector?: Protector } }).components;
  const protector = components?.connectionProtector;
  if (!protector || typeof protector.protect !== 'function' || protector.__gossamerChecked) return;
  protector.__gossamerChecked = true;

  const lastLog = new Map<string, number>();
  const report = (conn: MaConn) => {
    const remote = remoteOf(conn);
    const isIn = conn.direction === 'inbound';
    // Inbound connections come from ephemeral ports: one line per address, not per port.
    const key = isIn ? `in:${remote.replace(/:\d+$/, '')}` : `out:${remote}`;
    const now = Date.now();
    if (now - (lastLog.get(key) ?? 0) < everyMs) return;
    lastLog.set(key, now);
    if (isIn) {
      log.warn({ remote }, `cluster: refused a connection from ${remote}: peer does not share the cluster key (its cluster_cert_key, or the cluster secret of its database, differs from this node's)`);
    } else {
      log.warn({ remote }, `cluster: connection to ${remote} refused: peer does not share the cluster key (its cluster_cert_key, or the cluster secret of its database, differs from this node's)`);
    }
  };

  const original = protector.protect.bind(protector);
  protector.protect = async (conn, opts) => {
    const out = await original(conn, opts);
    checkHeader(out, () => {
      report(conn);
      out.abort(new ClusterKeyMismatchError(remoteOf(conn)));
    });
    return out;
  };
}
