// The plugins' own Admin API endpoints (PluginPackage.node: Kong's api.lua endpoints that are
// not an entity's, such as a cache purge) and the gossip topic each such plugin uses to reach
// the same plugin on the other nodes. Here, in the composition root, because the tools they are
// given join three parts: the node's cache (entities), its proxy workers and its cluster. The
// topics are followed whether or not the node has an Admin API (a data plane often has none).
import type { Logger } from 'pino';
import type { Router } from '../../admin/router.ts';
import type { EntityStore } from '../../cache/entity-store.ts';
import type { Cluster } from '../../cluster/index.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import { pluginNodeHooks } from '../../plugins/registry.ts';
import type { PluginNodeTools } from '../../plugins/package.ts';
import type { NodeContext } from '../context.ts';

export interface PluginEndpointDeps {
  store: () => EntityStore | null;
  proxy: () => NodeProxy | null;
  cluster: () => Cluster | null;
  log: Logger;
}

const topicOf = (plugin: string) => `gossamer/plugin/${plugin}/1`;

function toolsFor(name: string, deps: PluginEndpointDeps): PluginNodeTools {
  return {
    entities: () => [...(deps.store()?.all('plugins') ?? [])].filter((p) => p.name === name),
    askWorkers: (msg) => deps.proxy()?.ask(name, msg) ?? Promise.resolve([]),
    tellCluster: async (msg) => {
      const c = deps.cluster();
      if (!c) return false;
      try {
        await c.publish(topicOf(name), new TextEncoder().encode(JSON.stringify(msg)));
      } catch (err) {
        // No other member subscribed (a node alone): nothing to reach.
        deps.log.debug({ plugin: name, err: (err as Error).message }, 'plugin cluster message not sent');
      }
      return true;
    },
  };
}

/** The plugins' endpoints on this node's Admin API. */
export async function registerPluginEndpoints(router: Router, deps: PluginEndpointDeps): Promise<void> {
  for (const [name, h] of await pluginNodeHooks()) {
    for (const r of h.routes(toolsFor(name, deps))) router.add(r.method, r.pattern, r.handler);
  }
}

/** Every role with a cluster: what other nodes' plugins send (a purge made elsewhere). */
export async function startPluginMessagesPart({ log, stops }: NodeContext, cluster: Cluster, o: Pick<PluginEndpointDeps, 'store' | 'proxy'>): Promise<void> {
  const deps: PluginEndpointDeps = { ...o, cluster: () => cluster, log: log.child({ part: 'plugins' }) };
  for (const [name, h] of await pluginNodeHooks()) {
    const onMessage = h.onClusterMessage;
    if (!onMessage) continue;
    const tools = toolsFor(name, deps);
    stops.push(
      cluster.subscribe(topicOf(name), (data, from) => {
        let msg: unknown;
        try {
          msg = JSON.parse(new TextDecoder().decode(data));
        } catch {
          deps.log.warn({ plugin: name, from: from.name }, 'plugin cluster message is not JSON; ignored');
          return;
        }
        void Promise.resolve(onMessage(msg, tools)).catch((err: Error) => deps.log.error({ plugin: name, err: err.message }, 'plugin cluster message failed'));
      }),
    );
  }
}
