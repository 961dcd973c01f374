// Reads the server name from a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3) without
// consuming it: the TLS listener needs the name before the handshake starts, to give the
// connection the secure context of its certificate (see tls-listener.ts for why not
// node's SNICallback). Anything unexpected — not a handshake record, a hello longer than
// its first record, a malformed extension — yields no name, and the handshake proceeds
// with the default certificate (or fails in OpenSSL, which answers the client properly).

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const HOST_NAME = 0x00;
/** A TLS record carries at most 2^14 bytes (plus its 5-byte header). */
export const MAX_RECORD = 5 + 16384;

export type HelloScan = { done: false } | { done: true; servername: string | undefined };

/** Scan the bytes received so far: need more, or the server name (undefined when none or unreadable). */
export function scanClientHello(buf: Buffer): HelloScan {
  if (buf.length === 0) return { done: false };
  if (buf[0] !== HANDSHAKE) return { done: true, servername: undefined };
  if (buf.length < 5) return { done: false };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return { done: false };
  return { done: true, servername: serverNameOf(buf.subarray(5, 5 + recordLen)) };
}

function serverNameOf(hs: Buffer): string | undefined {
  try {
    if (hs[0] !== CLIENT_HELLO) return undefined;
    const end = Math.min(hs.length, 4 + hs.readUIntBE(1, 3));
    let p = 4 + 2 + 32; // header, legacy_version, random
    p += 1 + hs[p]!; // legacy_session_id
    p += 2 + hs.readUInt16BE(p); // cipher_suites
    p += 1 + hs[p]!; // legacy_compression_methods
    if (p + 2 > end) return undefined;
    const extEnd = Math.min(end, p + 2 + hs.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = hs.readUInt16BE(p);
      const len = hs.readUInt16BE(p + 2);
      p += 4;
      if (type === EXT_SERVER_NAME) return hostNameIn(hs.subarray(p, Math.min(p + len, extEnd)));
      p += len;
    }
  } catch {
    // A truncated hello reads past its end: no name.
  }
  return undefined;
}

function hostNameIn(ext: Buffer): string | undefined {
  let p = 2; // server_name_list length
  while (p + 3 <= ext.length) {
    const type = ext[p]!;
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (type === HOST_NAME) {
      const name = ext.subarray(p, p + len).toString('latin1');
      // A name with bytes outside printable ASCII is no host name: treat it as absent.
      return /^[\x21-\x7e]{1,255}$/.test(name) ? name.toLowerCase() : undefined;
    }
    p += len;
  }
  return undefined;
}
