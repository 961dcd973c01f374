// The client address as nginx's realip module gives it to Kong (kong/templates/nginx_kong.lua:
// set_real_ip_from per trusted_ips entry, real_ip_header, real_ip_recursive): a request from a
// trusted peer is from the address its real_ip_header names. Kong's kong.ip.is_trusted, which
// decides whether the peer's X-Forwarded-* headers are kept, is the same list.
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export interface RealIpOptions {
  /** trusted_ips: addresses and CIDR blocks ('unix:' entries are ignored). */
  trustedIps: string[];
  /** real_ip_header, lower-case, or 'proxy_protocol'. */
  header: string;
  /** real_ip_recursive. */
  recursive: boolean;
  /** port_maps: proxy_listen port -> the port clients reach (X-Forwarded-Port). */
  portMaps?: Record<number, number>;
}

const MAPPED = '::ffff:';

/** An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; IPv4 blocks must match it. */
function plain(addr: string): string {
  return addr.startsWith(MAPPED) && isIP(addr.slice(MAPPED.length)) === 4 ? addr.slice(MAPPED.length) : addr;
}

/** nginx's ngx_parse_addr_port for one list entry: `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]:port`; null if neither. */
export function entryAddress(text: string): string | null {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    const inner = end === -1 ? '' : text.slice(1, end);
    return isIP(inner) === 6 && (end === text.length - 1 || /^:\d{1,5}$/.test(text.slice(end + 1))) ? inner : null;
  }
  if (isIP(text) !== 0) return text;
  const colon = text.lastIndexOf(':');
  if (colon > 0 && isIP(text.slice(0, colon)) === 4 && /^\d{1,5}$/.test(text.slice(colon + 1))) return text.slice(0, colon);
  return null;
}

export class RealIp {
  static readonly none = new RealIp({ trustedIps: [], header: 'x-real-ip', recursive: false });

  private readonly list = new BlockList();
  private readonly all: boolean;
  private readonly some: boolean;
  readonly header: string;
  readonly recursive: boolean;
  readonly portMaps: Record<number, number>;

  constructor(o: RealIpOptions) {
    let v4all = false;
    let v6all = false;
    let entries = 0;
    for (const entry of o.trustedIps) {
      const slash = entry.indexOf('/');
      const addr = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(addr);
      if (family === 0) continue; // 'unix:'
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(entry.slice(slash + 1)), type);
      if (entry === '0.0.0.0/0') v4all = true;
      if (entry === '::/0') v6all = true;
      entries++;
    }
    this.all = v4all && v6all;
    this.some = entries > 0;
    this.header = o.header;
    this.recursive = o.recursive;
    this.portMaps = o.portMaps ?? {};
  }

  /** kong.ip.is_trusted. */
  isTrusted(addr: string): boolean {
    if (!this.some) return false;
    if (this.all) return true;
    const a = plain(addr);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client address (nginx's $remote_addr after realip) of a request whose peer is `peer`
   * ($realip_remote_addr). `proxied` is the PROXY protocol line's source address, if any.
   */
  clientOf(peer: string, req: IncomingMessage, proxied: string | undefined): string {
    if (!this.isTrusted(peer)) return peer;
    const value = this.header === 'proxy_protocol' ? proxied : this.headerValue(req);
    if (value === undefined) return peer;
    return this.walk(peer, value);
  }

  /** nginx's ngx_http_get_forwarded_addr: right to left, while the address so far is trusted. */
  private walk(peer: string, list: string): string {
    let addr = peer;
    let rest = list;
    do {
      if (!this.isTrusted(addr)) return addr;
      const trimmed = rest.replace(/[ ,]+$/, '');
      const cut = Math.max(trimmed.lastIndexOf(','), trimmed.lastIndexOf(' '));
      const next = entryAddress(trimmed.slice(cut + 1));
      if (next === null) return addr;
      addr = next;
      rest = cut === -1 ? '' : trimmed.slice(0, cut);
    } while (this.recursive && rest.length > 0);
    return addr;
  }

  /** X-Forwarded-For is read whole (every line, as nginx joins them); another header, its first line. */
  private headerValue(req: IncomingMessage): string | undefined {
    if (this.header === 'x-forwarded-for') {
      const v = req.headers['x-forwarded-for'];
      return Array.isArray(v) ? v.join(', ') : v;
    }
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === this.header) return raw[i + 1];
    return undefined;
  }
}
