// The entity definitions by name: what src/db/ and src/admin/ are generic over. Core's own,
// then the ones plugins own (from the plugin registry); a plugin entity declaring
// `cascadeWith` joins its parent's cascade list here.
import type { CoreEntityName, EntityName } from './types.ts';
import type { EntityDef } from './definition.ts';
import { services } from './services.ts';
import { routes } from './routes.ts';
import { consumers } from './consumers.ts';
import { plugins } from './plugins.ts';
import { upstreams } from './upstreams.ts';
import { targets } from './targets.ts';
import { certificates } from './certificates.ts';
import { snis } from './snis.ts';
import { ca_certificates } from './ca-certificates.ts';
import { pluginEntities, pluginEntityNames } from '../plugins/registry.ts';

const core: Record<CoreEntityName, EntityDef> = { services, routes, consumers, plugins, upstreams, targets, certificates, snis, ca_certificates };

function withPluginEntities(): Record<EntityName, EntityDef> {
  const all: Record<string, EntityDef> = {};
  for (const [name, def] of Object.entries(core)) all[name] = { ...def, cascade: [...def.cascade] };
  for (const def of pluginEntities()) all[def.name] = def;
  for (const def of pluginEntities()) {
    for (const field of def.cascadeWith ?? []) all[def.foreign[field]!]!.cascade.push({ entity: def.name, field });
  }
  return all as Record<EntityName, EntityDef>;
}

export const entities: Record<EntityName, EntityDef> = withPluginEntities();

/** The entities plugins own, in registry order. */
export const PLUGIN_ENTITY_NAMES: EntityName[] = pluginEntityNames();

/** Order in which a snapshot lists (and a loader should insert) entities: parents first. */
export const ENTITY_ORDER: EntityName[] = ['certificates', 'snis', 'ca_certificates', 'services', 'routes', 'consumers', 'upstreams', 'targets', 'plugins', ...PLUGIN_ENTITY_NAMES];

export type { EntityDef } from './definition.ts';
export { validateEntity } from './definition.ts';
export * from './errors.ts';
