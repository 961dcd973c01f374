import { z } from 'zod';
import net from 'node:net';

const cidr = z.string().refine((s) => {
  const [ip, bits] = s.split('/');
  if (!net.isIP(ip ?? '')) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (net.isIPv4(ip!) ? 32 : 128);
}, 'invalid ip or cidr range');

// Kong 3.x ip-restriction config with its defaults.
export const ipRestrictionSchema = z
  .object({
    allow: z.array(cidr).nullable().default(null),
    deny: z.array(cidr).nullable().default(null),
    status: z.number().int().nullable().default(null),
    message: z.string().nullable().default(null),
  })
  .refine((c) => (c.allow?.length ?? 0) + (c.deny?.length ?? 0) > 0, {
    message: "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
  });
export type IpRestrictionConfig = z.infer<typeof ipRestrictionSchema>;
