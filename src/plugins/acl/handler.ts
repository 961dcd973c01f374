// Kong 3's acl: allow or deny by the groups of the authenticated consumer (its acls rows), or
// by `authenticated_groups` another plugin put in kong.ctx.shared (LDAP, OAuth2...), which win
// for an anonymous consumer or when always_use_authenticated_groups is set.
import type { ProxyContext } from '../../proxy/context.ts';
import type { PluginHandler, PluginInstance } from '../types.ts';
import type { AclConfig } from './schema.ts';
import { CONSUMER_INDEX, type Acl } from './daos.ts';

function authenticatedGroups(ctx: ProxyContext): string[] | null {
  const g = ctx.shared?.authenticated_groups;
  return Array.isArray(g) && g.length > 0 ? (g as string[]) : null;
}

/** The groups of a consumer's acl rows, in no particular order (empty when none). */
function groupsOf(rows: Map<string, Acl> | undefined): string[] {
  if (!rows) return [];
  const out: string[] = [];
  for (const a of rows.values()) out.push(a.group);
  return out;
}

const handler: PluginHandler<AclConfig> = {
  create(conf, env): PluginInstance {
    const byConsumer = env.store.index<Map<string, Acl>>(CONSUMER_INDEX);
    const denyMode = (conf.deny?.length ?? 0) > 0;
    const listed = new Set(denyMode ? conf.deny : conf.allow);
    const forbidden = (ctx: ProxyContext) => ctx.exit(403, { message: 'You cannot consume this service', request_id: ctx.requestId });
    return {
      name: 'acl',
      access(ctx: ProxyContext) {
        let groups: string[] | null = null;
        let header = 'x-consumer-groups';
        const consumer = ctx.consumer;
        if (consumer === null || ctx.credential === null || conf.always_use_authenticated_groups) {
          groups = authenticatedGroups(ctx);
          if (groups !== null) header = 'x-authenticated-groups';
        }
        if (groups === null) {
          if (consumer === null) {
            // No authentication plugin identified anyone: Kong 3 asks for credentials.
            if (ctx.credential === null) ctx.exit(401, { message: 'Unauthorized', request_id: ctx.requestId });
            else forbidden(ctx);
            return;
          }
          groups = groupsOf(byConsumer.get(consumer.id));
        }
        let inList = false;
        for (const g of groups) {
          if (listed.has(g)) {
            inList = true;
            break;
          }
        }
        if (inList === denyMode) return forbidden(ctx);
        if (!conf.hide_groups_header) ctx.setRequestHeader(header, groups.join(', '));
      },
    };
  },
};

export default handler;
