// key-auth's Admin API (Kong's api.lua): /consumers/{}/key-auth[/{id|key}], /key-auths[/{id|key}],
// /key-auths/{}/consumer.
import type { CredentialEndpoints } from '../package.ts';

export const api: CredentialEndpoints[] = [{ entity: 'keyauth_credentials', nested: 'key-auth', collection: '/key-auths', parentField: 'credential' }];
