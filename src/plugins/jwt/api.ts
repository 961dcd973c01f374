// jwt's Admin API (Kong's admin_api_name / admin_api_nested_name): /consumers/{}/jwt[/{id|key}],
// /jwts[/{id|key}], /jwts/{}/consumer.
import type { CredentialEndpoints } from '../package.ts';

export const api: CredentialEndpoints[] = [{ entity: 'jwt_secrets', nested: 'jwt', collection: '/jwts', parentField: 'credential' }];
