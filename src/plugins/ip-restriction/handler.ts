// Kong's ip-restriction: a deny match blocks; a non-empty allow list blocks everything else.
import net from 'node:net';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { IpRestrictionConfig } from './schema.ts';

function blockList(entries: string[] | null): net.BlockList | null {
  if (!entries || !entries.length) return null;
  const bl = new net.BlockList();
  for (const e of entries) {
    const [ip, bits] = e.split('/');
    const type = net.isIPv4(ip!) ? 'ipv4' : 'ipv6';
    if (bits === undefined) bl.addAddress(ip!, type);
    else bl.addSubnet(ip!, Number(bits), type);
  }
  return bl;
}

function check(bl: net.BlockList, ip: string): boolean {
  if (net.isIPv4(ip)) return bl.check(ip, 'ipv4');
  return bl.check(ip, 'ipv6');
}

const handler: PluginHandler<IpRestrictionConfig> = {
  create(conf): PluginInstance {
    const allow = blockList(conf.allow);
    const deny = blockList(conf.deny);
    const status = conf.status ?? 403;
    const message = conf.message ?? 'Your IP address is not allowed';
    return {
      name: 'ip-restriction',
      access(ctx) {
        const raw = ctx.clientIp;
        const ip = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
        const blocked = (deny !== null && check(deny, ip)) || (allow !== null && !check(allow, ip));
        if (blocked) ctx.exit(status, { message, request_id: ctx.requestId });
      },
    };
  },
};

export default handler;
