// acl's Admin API (Kong's api.lua): /consumers/{}/acls[/{id|group}], /acls[/{id}],
// /acls/{id}/consumer. A group is unique per consumer only, so it names an acl under its
// consumer and nowhere else (Kong).
import type { CredentialEndpoints } from '../package.ts';

export const api: CredentialEndpoints[] = [{ entity: 'acls', nested: 'acls', collection: '/acls', nestedKey: 'group', parentField: 'acl' }];
