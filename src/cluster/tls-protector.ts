// Mutual TLS as libp2p's connection protector, in place of the private-network key (pnet), for
// hybrid mode's `cluster_mtls = pki`: every node holds its own certificate signed by one CA,
// and a connection is only handed to the rest of libp2p (noise, yamux, every protocol) once
// both sides have shown a certificate that chains up to that CA. The side that accepted the
// connection is the TLS server and asks for a client certificate (nginx's
// `ssl_verify_client on` with Kong's `ssl_verify_depth 4`); the dialling side checks the
// server's chain, and its name when `serverNameFor` gives one (Kong's cluster_server_name).
//
// libp2p's protector gets a connection that is a message stream (libp2p 3: 'message' events
// and send()); node:tls wants a node stream. bridge() turns one into the other, with
// backpressure both ways, and TlsConnection turns the TLS socket back into a libp2p
// connection (as @libp2p/tcp does with its sockets).
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import type { ComponentLogger, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils';
import type { Multiaddr } from '@multiformats/multiaddr';
import { hostPortOf } from './multiaddr-parts.ts';

export interface ClusterTls {
  /** This node's certificate (PEM; may carry intermediates after it) and key. */
  cert: string;
  key: string;
  /** The CA every cluster member's certificate must chain up to. */
  ca: string;
  /** For a connection this node dials: the name to send and check (null: the chain only). */
  serverNameFor(remote: { host: string; port: number }): string | null;
  /** A connection that failed its TLS handshake, for the log. */
  onRefused?(remote: string, inbound: boolean, why: string): void;
}

/** Why a cluster connection failed its TLS handshake; the refusal counter's `certificate` reason. */
export class ClusterCertificateError extends Error {
  override name = 'ClusterCertificateError';
  readonly code = 'ERR_CLUSTER_CERTIFICATE';
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const VERIFY_DEPTH = 4;

type Chunk = Uint8Array | { subarray(): Uint8Array };
const bytesOf = (c: Chunk): Uint8Array => (c instanceof Uint8Array ? c : c.subarray());

/** A node stream over a libp2p connection: its 'message' events in, send() out. */
function bridge(conn: MessageStream): Duplex {
  let paused = false;
  const raw: Duplex = new Duplex({
    write(chunk: Buffer, _enc, done) {
      try {
        if (conn.send(chunk)) done();
        else conn.onDrain().then(() => done(), done);
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      conn.close().then(() => done(), done);
    },
    read() {
      if (!paused) return;
      paused = false;
      try {
        conn.resume();
      } catch {
        // closed meanwhile: its 'close' event ends this stream
      }
    },
    destroy(err, done) {
      if (conn.status === 'open') {
        if (err) conn.abort(err);
        else void conn.close().catch(() => {});
      }
      done(err);
    },
  });
  conn.addEventListener('message', (evt) => {
    const b = bytesOf(evt.data);
    if (raw.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) || paused) return;
    try {
      conn.pause();
      paused = true;
    } catch {
      // closed meanwhile: its 'close' event ends this stream
    }
  });
  conn.addEventListener('close', (evt) => {
    if (evt.error) raw.destroy(evt.error);
    else raw.push(null);
  });
  return raw;
}

/** The TLS socket as the connection libp2p carries on with (noise, yamux) once the handshake is done. */
class TlsConnection extends AbstractMultiaddrConnection {
  constructor(
    private readonly socket: TLSSocket,
    raw: MessageStream & { remoteAddr: Multiaddr },
  ) {
    super({ remoteAddr: raw.remoteAddr, direction: raw.direction, log: raw.log.newScope('tls') });
    socket.on('data', (buf: Buffer) => this.onData(buf));
    socket.on('error', (err) => this.abort(err));
    socket.once('end', () => this.onTransportClosed());
    socket.once('close', () => this.onTransportClosed());
    socket.on('drain', () => this.safeDispatchEvent('drain'));
  }

  sendData(data: Parameters<AbstractMultiaddrConnection['sendData']>[0]): SendResult {
    let sentBytes = 0;
    let canSendMore = true;
    for (const buf of data) {
      sentBytes += buf.byteLength;
      canSendMore = this.socket.write(buf);
      if (!canSendMore) break;
    }
    return { sentBytes, canSendMore };
  }

  async sendClose(): Promise<void> {
    if (this.socket.destroyed) return;
    this.socket.end();
    await Promise.race([once(this.socket, 'close'), new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
    this.socket.destroy();
  }

  sendReset(): void {
    this.socket.destroy();
  }

  sendPause(): void {
    this.socket.pause();
  }

  sendResume(): void {
    this.socket.resume();
  }
}

function remoteOf(conn: MessageStream & { remoteAddr?: Multiaddr }): { host: string; port: number } {
  try {
    const o = hostPortOf(conn.remoteAddr!);
    return { host: o.host, port: o.port };
  } catch {
    return { host: 'unknown', port: 0 };
  }
}

function handshake(socket: TLSSocket, event: 'secure' | 'secureConnect'): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(new Error('TLS handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    socket.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed during the TLS handshake'));
    });
  });
}

/** OpenSSL follows a chain as deep as it is given; Kong's nginx stops at ssl_verify_depth 4. */
function chainDepth(cert: PeerCertificate & { issuerCertificate?: PeerCertificate }): number {
  let depth = 0;
  for (let c = cert; c.issuerCertificate && c.issuerCertificate !== c; c = c.issuerCertificate) depth++;
  return depth;
}

/**
 * The accepting side. A standalone TLSSocket does not record whether the client's certificate
 * verified; node:tls's Server does (authorized, authorizationError), so the connection is
 * handed to a Server made for it (cheap: cluster connections are few and long-lived).
 */
function acceptTls(raw: Duplex, t: ClusterTls): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    const fail = (err: Error) => {
      raw.destroy();
      reject(err);
    };
    server.once('tlsClientError', (err) => fail(err));
    raw.once('close', () => reject(new Error('connection closed during the TLS handshake')));
    server.once('secureConnection', (socket: TLSSocket) => {
      socket.on('error', () => {}); // reported to libp2p through the stream's reader
      if (!socket.authorized) return fail(new ClusterCertificateError(`client certificate not accepted: ${String(socket.authorizationError ?? 'none presented')}`));
      if (chainDepth(socket.getPeerCertificate(true)) > VERIFY_DEPTH) return fail(new ClusterCertificateError(`client certificate chain deeper than ${VERIFY_DEPTH}`));
      resolve(socket);
    });
    server.emit('connection', raw);
  });
}

async function secure(conn: MessageStream, t: ClusterTls, inbound: boolean): Promise<TLSSocket> {
  const raw = bridge(conn);
  const remote = remoteOf(conn);
  if (inbound) return acceptTls(raw, t);
  const name = t.serverNameFor(remote);
  const socket = tls.connect({
    socket: raw,
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    minVersion: 'TLSv1.2',
    ...(name && !/^[\d.]+$|:/.test(name) ? { servername: name } : {}),
    checkServerIdentity: (_host, cert) => (name ? tls.checkServerIdentity(name, cert) : undefined),
    // Checked below instead: node would drop the connection before this side's certificate
    // and Finished reach the listener, which could then not tell (nor count) why it failed.
    rejectUnauthorized: false,
  });
  socket.on('error', () => {});
  await handshake(socket, 'secureConnect');
  const tooDeep = socket.authorized && chainDepth(socket.getPeerCertificate(true)) > VERIFY_DEPTH;
  if (!socket.authorized || tooDeep) {
    const why = tooDeep ? `chain deeper than ${VERIFY_DEPTH}` : String(socket.authorizationError ?? 'not verified');
    socket.end();
    await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
    throw new ClusterCertificateError(`server certificate not accepted: ${why}${name ? ` (expected name ${name})` : ''}`);
  }
  return socket;
}

/** A refusal by either side's TLS (a certificate, an alert); not a connection that just closed or timed out. */
function isTlsFailure(err: unknown): boolean {
  if (err instanceof ClusterCertificateError) return true;
  const e = err as { code?: string; message?: string };
  return /^ERR_SSL_|^ERR_TLS_CERT|CERT|UNABLE_TO_|SELF_SIGNED/.test(e.code ?? '') || /alert|certificate/i.test(e.message ?? '');
}

/** The protector for `cluster_mtls = pki`; `isInbound` tells which side accepted the connection. */
export function tlsProtector(t: ClusterTls, isInbound: (conn: MessageStream) => boolean) {
  return (_components: { logger: ComponentLogger }): ConnectionProtector => ({
    async protect(conn: MessageStream): Promise<MultiaddrConnection> {
      const inbound = isInbound(conn);
      let socket: TLSSocket;
      try {
        socket = await secure(conn, t, inbound);
      } catch (err) {
        const why = (err as Error).message.split('\n')[0]!.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, '');
        const { host, port } = remoteOf(conn);
        t.onRefused?.(`${host}:${port}`, inbound, why);
        conn.abort(err as Error);
        throw isTlsFailure(err) ? new ClusterCertificateError(`TLS handshake with ${host}:${port} failed: ${why}`) : err;
      }
      return new TlsConnection(socket, conn as MessageStream & { remoteAddr: Multiaddr });
    },
  });
}
