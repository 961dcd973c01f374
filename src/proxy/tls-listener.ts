// TLS termination for `ssl` listeners: the HTTP server listens on the TCP port, and each new
// connection is read up to the end of its ClientHello record (client-hello.ts), wrapped in a
// TLSSocket whose secure context is the certificate chosen for its server name
// (sni-certs.ts), then handed to the HTTP server as its connection.
//
// Why not node's SNICallback: node applies the context it returns with SSL_use_certificate,
// which replaces only the slot of that certificate's key type. The default certificate's other
// slot stays (an ECDSA default would still be presented to a client that accepts ECDSA when the
// SNI's certificate is RSA), and a context holding an RSA and an ECDSA pair gives only one of
// them. A connection created with the chosen context holds exactly that certificate's pairs,
// and OpenSSL picks RSA or ECDSA by what the client offers.
import type http from 'node:http';
import type net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import { MAX_RECORD, scanClientHello } from './client-hello.ts';

export interface TlsTermination {
  /** The secure context for a server name (the default when none matches or none was sent). */
  contextFor(servername: string | undefined): SecureContext;
  /** Wire-format ALPN list (length-prefixed names). */
  alpn: Buffer;
  /** A client that does not complete its ClientHello, then its handshake, each in this time loses its connection (ms). */
  helloTimeout: number;
  /** `http2` listeners: a connection whose ALPN chose h2 goes here instead of the HTTP/1.1 server. */
  onH2?: (socket: tls.TLSSocket) => void;
}

/** ALPN protocol names in the wire format OpenSSL takes. */
export function alpnWire(names: string[]): Buffer {
  return Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, 'latin1')])));
}

type ConnectionListener = (socket: net.Socket) => void;

/** Make `server` (a plain node:http server) terminate TLS on every connection it accepts. */
export function terminateTls(server: http.Server, t: TlsTermination): void {
  // As node's https server: a client's end ends the connection (node:http keeps it half open,
  // which would leave an upgraded TLS connection, and the server's close, waiting).
  (server as unknown as { allowHalfOpen: boolean }).allowHalfOpen = false;
  const httpListeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  // Connections still in their hello or handshake are not node:http's yet: closing the
  // server's connections closes them too.
  const pending = new Set<net.Socket>();
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    for (const socket of pending) socket.destroy();
    closeAll();
  };
  server.on('connection', (raw: net.Socket) => {
    pending.add(raw);
    raw.once('close', () => pending.delete(raw));
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = () => raw.destroy();
    const timer = setTimeout(fail, t.helloTimeout);
    raw.on('error', fail);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const buf = Buffer.concat(chunks, size);
      const scan = scanClientHello(buf);
      if (!scan.done && size < MAX_RECORD) return;
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('close', onClose);
      raw.pause();
      raw.unshift(buf);
      const servername = scan.done ? scan.servername : undefined;
      const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: t.contextFor(servername), ALPNProtocols: t.alpn } as tls.TLSSocketOptions);
      raw.off('error', fail);
      // A failed handshake (a bad hello, an unknown protocol version) only loses its socket.
      socket.on('error', () => socket.destroy());
      // As node's https server does: HTTP starts once the handshake is done, and a handshake
      // that does not finish in time (a hello spread over records that never come) is dropped.
      const handshake = setTimeout(() => socket.destroy(), t.helloTimeout);
      socket.once('close', () => clearTimeout(handshake));
      socket.once('secure', () => {
        clearTimeout(handshake);
        pending.delete(raw);
        if (t.onH2 !== undefined && socket.alpnProtocol === 'h2') {
          // node's TLS server clears this on its own sockets; node:http2 waits for a
          // 'secureConnect' (a client's event) while it is set.
          (socket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
          return t.onH2(socket);
        }
        for (const listener of httpListeners) listener.call(server, socket);
      });
    };
    const onClose = () => clearTimeout(timer);
    raw.on('data', onData);
    raw.on('close', onClose);
  });
}
