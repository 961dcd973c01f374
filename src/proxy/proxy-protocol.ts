// proxy_listen entries with the `proxy_protocol` flag (nginx's `listen ... proxy_protocol`): every
// connection starts with a PROXY protocol header (v1 text or v2 binary) naming the client, as a
// load balancer in front (HAProxy, AWS NLB) sends it. The source address it names is what
// real_ip_header = proxy_protocol reads (real-ip.ts). A connection without a valid header is
// closed, as nginx closes it.
import type net from 'node:net';
import { isIP } from 'node:net';
import type http from 'node:http';

const kProxied = Symbol('gossamer.proxyProtocolAddress');
type Marked = { [kProxied]?: string; _parent?: Marked };
type ConnectionListener = (socket: net.Socket) => void;

/** nginx's $proxy_protocol_addr of the request's connection (undefined: none, or UNKNOWN/LOCAL). */
export function proxiedAddress(socket: object | null): string | undefined {
  const s = socket as Marked | null;
  return s?.[kProxied] ?? s?._parent?.[kProxied];
}

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** v1's longest line (the spec's 107 bytes); v2's header is 16 bytes plus its stated length. */
const V1_MAX = 107;

type Parsed = { length: number; address: string | undefined } | 'more' | 'bad';

function parseV1(buf: Buffer): Parsed {
  const end = buf.indexOf('\r\n');
  if (end === -1) return buf.length < V1_MAX ? 'more' : 'bad';
  const parts = buf.toString('latin1', 0, end).split(' ');
  if (parts[1] === 'UNKNOWN') return { length: end + 2, address: undefined };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return 'bad';
  if (isIP(parts[2]!) !== (parts[1] === 'TCP4' ? 4 : 6)) return 'bad';
  return { length: end + 2, address: parts[2] };
}

function parseV2(buf: Buffer): Parsed {
  if (buf.length < 16) return 'more';
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return 'more';
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2 || command > 1) return 'bad';
  const family = buf[13]! >> 4;
  // LOCAL (a health check of the balancer itself), or a family without an IP address.
  if (command === 0 || (family !== 1 && family !== 2)) return { length, address: undefined };
  if (family === 1 && length >= 16 + 12) return { length, address: [...buf.subarray(16, 20)].join('.') };
  if (family === 2 && length >= 16 + 36) {
    const groups: string[] = [];
    for (let i = 16; i < 32; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
    // The URL parser writes an IPv6 address in its short form (::1), as nginx does.
    return { length, address: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1) };
  }
  return 'bad';
}

function parse(buf: Buffer): Parsed {
  const v2 = buf.subarray(0, Math.min(buf.length, 12));
  if (V2_SIGNATURE.subarray(0, v2.length).equals(v2)) return buf.length < 12 ? 'more' : parseV2(buf);
  const v1 = buf.subarray(0, Math.min(buf.length, 6)).toString('latin1');
  if (!'PROXY '.startsWith(v1)) return 'bad';
  return parseV1(buf);
}

/** Reads the PROXY header of each connection of `server` before its own connection handling. */
export function acceptProxyProtocol(server: http.Server, timeoutMs: number): void {
  const next = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    let buf: Buffer = Buffer.alloc(0);
    const fail = () => socket.destroy();
    const timer = setTimeout(fail, timeoutMs);
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = parse(buf);
      if (r === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      if (r === 'bad') return fail();
      socket.pause();
      if (r.address !== undefined) (socket as Marked)[kProxied] = r.address;
      if (buf.length > r.length) socket.unshift(buf.subarray(r.length));
      for (const listener of next) listener.call(server, socket);
      // node:http reads what was unshifted through its 'data' listener once the socket flows.
      socket.resume();
    };
    socket.on('error', fail);
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  });
}
