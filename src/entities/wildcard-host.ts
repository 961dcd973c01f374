// Kong's typedefs.wildcard_host (SNI names): a host name with at most one `*`, leftmost
// (`*.example.com`) or rightmost (`example.*`); not an IP, no port. Messages are Kong's.
import { isHostname, str } from './fields.ts';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?$/;

export function wildcardHostError(host: string): string | null {
  const idx = host.indexOf('*');
  let h = host;
  if (idx !== -1) {
    if (idx !== 0 && idx !== host.length - 1) return 'wildcard must be leftmost or rightmost character';
    if (host.split('*').length > 2) return 'only one wildcard must be specified';
    h = host.replace('*', 'wildcard');
  }
  if (IPV4.test(h) || (IPV6.test(h) && h.split(':').length > 2)) return 'must not be an IP';
  const port = /^([^:]+):(\d+)$/.exec(h);
  if (port && (isHostname(port[1]!) || IPV4.test(port[1]!))) return 'must not have a port';
  if (!isHostname(h)) return `invalid value: ${h}`;
  return null;
}

export const wildcardHost = () =>
  str().superRefine((h, ctx) => {
    const message = wildcardHostError(h);
    if (message) ctx.addIssue({ code: 'custom', message });
  });
