import { isIP } from 'node:net';
import { z } from 'zod';
import { bool, key, onOff } from '../key.ts';

// What the proxy believes about a request and tells others: who the client is when it came
// through a load balancer (nginx's realip module as Kong configures it: set_real_ip_from per
// trusted_ips entry, real_ip_header, real_ip_recursive), which X-Forwarded-* headers a trusted
// peer may set, the port clients reached (port_maps), and Kong's debug response headers.

/** An IPv4/IPv6 address or CIDR block, as Kong's is_valid_ip_or_cidr takes it. */
export function isIpOrCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return isIP(text) !== 0;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

const trustedIps = () =>
  z.string().transform((v, ctx): string[] => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const item of items) {
      // Kong accepts 'unix:' (nginx's unix-socket peers); the proxy listens on no unix socket.
      if (item === 'unix:' || isIpOrCidr(item)) continue;
      // Kong's conf_loader message.
      ctx.addIssue({ code: 'custom', message: `trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got '${item}'` });
      return z.NEVER;
    }
    return items;
  });

const headerName = () =>
  z.string().trim().transform((v, ctx) => {
    if (v === 'proxy_protocol') return v;
    if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v)) return v.toLowerCase();
    ctx.addIssue({ code: 'custom', message: `'${v}' is not a header name` });
    return z.NEVER;
  });

const portMaps = () =>
  z.string().transform((v, ctx): Record<number, number> => {
    const out: Record<number, number> = {};
    for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(item);
      const [hostPort, ownPort] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
      if (hostPort < 1 || hostPort > 65535 || ownPort < 1 || ownPort > 65535) {
        ctx.addIssue({ code: 'custom', message: `invalid port mapping (\`port_maps\`): ${item}` });
        return z.NEVER;
      }
      out[ownPort] = hostPort;
    }
    return out;
  });

export const proxyHeaderKeys = {
  allow_debug_header: onOff(
    'off',
    "Kong's allow_debug_header: a request with a Kong-Debug header gets Kong-Route-Id, Kong-Route-Name, Kong-Service-Id and Kong-Service-Name response headers naming what it matched. Leave off where clients should not learn the configuration.",
  ),
  trusted_ips: key(
    trustedIps(),
    '',
    "comma-separated IPv4/IPv6 addresses or CIDR blocks (0.0.0.0/0,::/0 trusts every client), or empty",
    "Peers trusted to say who the client is (load balancers, CDNs). A request from one of them keeps its X-Forwarded-Proto, -Host, -Port, -Path and -Prefix headers, and its real_ip_header names the client (X-Real-IP, the client address plugins and logs see). From any other peer those headers are replaced, as Kong's. Empty: no peer is trusted.",
  ),
  real_ip_header: key(
    headerName(),
    'X-Real-IP',
    'a request header name, or proxy_protocol',
    "nginx's real_ip_header: the header a trusted peer names the client in (X-Forwarded-For takes its right-most address). proxy_protocol: the address of the PROXY protocol line, on proxy_listen entries with the proxy_protocol flag.",
  ),
  real_ip_recursive: key(
    bool(),
    'off',
    'on or off',
    "nginx's real_ip_recursive: off takes the last address of real_ip_header; on walks the addresses right to left past every trusted one and takes the first untrusted.",
  ),
  port_maps: key(
    portMaps(),
    '',
    'comma-separated host_port:proxy_port pairs, or empty',
    "Kong's port_maps: the port clients reach for a proxy_listen port (a container's published port), sent as X-Forwarded-Port instead of the port the proxy listens on.",
  ),
};
