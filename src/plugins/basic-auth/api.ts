// basic-auth's Admin API (Kong's api.lua): /consumers/{}/basic-auth[/{id|username}],
// /basic-auths[/{id|username}], /basic-auths/{}/consumer. Answers carry the stored hash in
// `password`, as Kong's do.
import type { CredentialEndpoints } from '../package.ts';

export const api: CredentialEndpoints[] = [{ entity: 'basicauth_credentials', nested: 'basic-auth', collection: '/basic-auths', parentField: 'credential' }];
