// The plugins' own Admin API endpoints (PluginPackage.node: Kong's api.lua endpoints that are
// not an entity's, such as a cache purge) and the gossip topic each such plugin uses to reach
// the same plugin on the other nodes. Here, in the composition root, because the tools they are
// given join three parts: the node's cache (entities), its proxy workers and its cluster.
import type { Logger } from 'pino';
import type { Router } from '../../admin/router.ts';
import type { EntityStore } from '../../cache/entity-store.ts';
import type { Cluster } from '../../cluster/index.ts';
import type { NodeProxy } from '../../proxy/node-proxy.ts';
import { pluginNodeHooks, type PluginPackage } from '../../plugins/registry.ts';
import type { PluginNodeTools } from '../../plugins/package.ts';

export interface PluginEndpointDeps {
  store: () => EntityStore | null;
  proxy: () => NodeProxy | null;
  cluster: () => Cluster | null;
  log: Logger;
}

/** How often a node without its cluster yet looks again, to subscribe the plugins' topics. */
const CLUSTER_WAIT_MS = 500;

const topicOf = (plugin: PluginPackage['name']) => `gossamer/plugin/${plugin}/1`;

export async function registerPluginEndpoints(router: Router, deps: PluginEndpointDeps): Promise<() => void> {
  const hooks = await pluginNodeHooks();
  const cleanups: (() => void)[] = [];
  for (const [name, h] of hooks) {
    const tools: PluginNodeTools = {
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
    for (const r of h.routes(tools)) router.add(r.method, r.pattern, r.handler);
    const onMessage = h.onClusterMessage;
    if (onMessage) cleanups.push(whenClustered(deps, (c) => c.subscribe(topicOf(name), (data, from) => {
      let msg: unknown;
      try {
        msg = JSON.parse(new TextDecoder().decode(data));
      } catch {
        deps.log.warn({ plugin: name, from: from.name }, 'plugin cluster message is not JSON; ignored');
        return;
      }
      void Promise.resolve(onMessage(msg, tools)).catch((err: Error) => deps.log.error({ plugin: name, err: err.message }, 'plugin cluster message failed'));
    })));
  }
  return () => cleanups.forEach((c) => c());
}

/** Run `use` once the node has its cluster (a data plane joins after its Admin API listens). */
function whenClustered(deps: PluginEndpointDeps, use: (c: Cluster) => () => void): () => void {
  let undo: (() => void) | null = null;
  const now = deps.cluster();
  if (now) return use(now);
  const timer = setInterval(() => {
    const c = deps.cluster();
    if (!c) return;
    clearInterval(timer);
    undo = use(c);
  }, CLUSTER_WAIT_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    undo?.();
  };
}
