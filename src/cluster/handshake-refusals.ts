// Counting the connections the cluster port refuses before they are peers (metrics.ts lists the
// reasons). Through libp2p's public extension points only: the connection protector and the
// connection encrypter are factories host.ts passes in, and the gater's denyInboundConnection
// sees each inbound connection before any byte is read.
//
// A peer holding another cluster key cannot be told apart from one sending random bytes: the
// private-network layer (pnet, XSalsa20 keyed by the PSK) decrypts both into noise. The first
// decrypted bytes of a healthy connection are multistream-select's header, so anything else is
// counted as `cluster_key`. The check only looks: refusing is left to the layers above (the
// multistream-select that fails on those bytes, or src/hybrid/refusals.ts, which logs and closes).
//
// Cost on the happy path: one flag test per message event of a connection until its first,
// one promise handler per handshake; nothing per gossip message.
import type { ComponentLogger, ConnectionEncrypter, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { countRefusal } from './metrics.ts';

const HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n');

type Chunk = Uint8Array | { subarray(): Uint8Array };
type ProtectorFactory = (components: { logger: ComponentLogger }) => ConnectionProtector;
type EncrypterFactory<C> = (components: C) => ConnectionEncrypter;

function startsLikeHeader(chunk: Chunk): boolean {
  const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
  // A first chunk shorter than the header is checked as far as it goes (it almost never is).
  for (let i = 0; i < bytes.length && i < HEADER.length; i++) if (bytes[i] !== HEADER[i]) return false;
  return true;
}

/**
 * `onFirst` called with the first bytes `stream` hands its reader. A libp2p 3 stream delivers
 * what it receives as 'message' events through its own dispatchEvent; watching that (rather
 * than adding a listener, which would make the stream deliver before its real reader listens)
 * leaves the bytes and their order untouched.
 */
function watchFirstMessage(stream: MessageStream, onFirst: (chunk: Chunk) => void): void {
  const dispatch = stream.dispatchEvent.bind(stream);
  stream.dispatchEvent = (evt: Event): boolean => {
    if (evt.type === 'message') {
      stream.dispatchEvent = dispatch;
      onFirst((evt as Event & { data: Chunk }).data);
    }
    return dispatch(evt);
  };
}

export class HandshakeRefusals {
  private readonly inbound = new WeakSet<object>();

  /** The gater's denyInboundConnection: remembers the connection as inbound, denies nothing. */
  readonly markInbound = (maConn: MultiaddrConnection): boolean => {
    this.inbound.add(maConn);
    return false;
  };

  /** Whether the gater saw `maConn` arrive (the TLS protector's server side). */
  readonly isInbound = (maConn: MessageStream): boolean => this.inbound.has(maConn);

  /** The protector `make` builds, counting a peer with another key (either direction) and an inbound nonce exchange that fails. */
  protector(make: ProtectorFactory): ProtectorFactory {
    return (components) => {
      const inner = make(components);
      return {
        protect: async (conn, opts) => {
          let out: MessageStream;
          try {
            out = await inner.protect(conn, opts);
          } catch (err) {
            if ((err as { code?: string }).code === 'ERR_CLUSTER_CERTIFICATE') countRefusal('certificate');
            else if (this.inbound.has(conn)) countRefusal('handshake');
            throw err;
          }
          watchFirstMessage(out, (chunk) => {
            if (!startsLikeHeader(chunk)) countRefusal('cluster_key');
          });
          return out;
        },
      };
    };
  }

  /** The encrypter `make` builds (noise), counting inbound handshakes that fail. */
  encrypter<C>(make: EncrypterFactory<C>): EncrypterFactory<C> {
    return (components) => {
      const enc = make(components);
      const secureInbound = enc.secureInbound.bind(enc);
      enc.secureInbound = ((conn, opts) =>
        secureInbound(conn, opts).catch((err: unknown) => {
          countRefusal('handshake');
          throw err;
        })) as ConnectionEncrypter['secureInbound'];
      return enc;
    };
  }
}
