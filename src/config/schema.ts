import type { z } from 'zod';
import type { KeyDef, Values } from './key.ts';
import { aliases as coreAliases, coreKeys } from './keys/core.ts';
import { membershipKeys } from './keys/membership.ts';
import { eventsKeys } from './keys/events.ts';
import { proxyHeaderKeys } from './keys/proxy-headers.ts';
import { tlsKeys } from './keys/tls.ts';

// Every configuration key the node knows, by concern. A new group of keys is a file under
// keys/ and one spread here; the README's configuration reference is generated from this.
export const keys = {
  ...coreKeys,
  ...tlsKeys,
  ...membershipKeys,
  ...eventsKeys,
  ...proxyHeaderKeys,
};

// Kong's older names (nginx_proxy_* injected directives) for the realip keys.
export const aliases: Record<string, string> = {
  ...coreAliases,
  nginx_proxy_real_ip_header: 'real_ip_header',
  nginx_proxy_real_ip_recursive: 'real_ip_recursive',
};

export type Config = Values<typeof keys>;
export type ConfigKey = keyof Config;

export function keyDef(name: string): KeyDef | undefined {
  return (keys as Record<string, KeyDef>)[name];
}

export type Infer<S> = S extends z.ZodType<infer T, string> ? T : never;
