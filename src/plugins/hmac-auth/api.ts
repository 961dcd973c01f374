// hmac-auth's Admin API (Kong's admin_api_name / admin_api_nested_name):
// /consumers/{}/hmac-auth[/{id|username}], /hmac-auths[/{id|username}], /hmac-auths/{}/consumer.
import type { CredentialEndpoints } from '../package.ts';

export const api: CredentialEndpoints[] = [{ entity: 'hmacauth_credentials', nested: 'hmac-auth', collection: '/hmac-auths', parentField: 'credential' }];
