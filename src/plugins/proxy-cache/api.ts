// Kong's proxy-cache Admin API (kong/plugins/proxy-cache/api.lua): read and purge cached
// responses. The memory stores live in the proxy workers, so every call asks all of this node's
// workers; a purge is then handed to every other node of the cluster (Kong broadcasts it as a
// cluster event; here, by gossip), so one call empties the whole cluster's caches.
import type { AdminResponse } from '../../admin/router.ts';
import type { PluginNodeHooks, PluginNodeTools } from '../package.ts';
import type { CacheEntryView, CacheQuestion } from './worker.ts';

const NOT_FOUND: AdminResponse = { status: 404, body: { message: 'Not found' } };

async function found(tools: PluginNodeTools, q: CacheQuestion): Promise<CacheEntryView | null> {
  const answers = await tools.askWorkers(q);
  return (answers.find((a) => a !== null && typeof a === 'object' && 'status' in (a as object)) as CacheEntryView | undefined) ?? null;
}

async function purged(tools: PluginNodeTools, q: CacheQuestion): Promise<boolean> {
  return (await tools.askWorkers(q)).some((a) => a === true);
}

/** The plugin entity named in the URL, when it is a proxy-cache of this node. */
function pluginOf(tools: PluginNodeTools, id: string) {
  return tools.entities().find((p) => p.id === id) ?? null;
}

const hooks: PluginNodeHooks = {
  routes: (tools) => [
    {
      method: 'DELETE',
      pattern: '/proxy-cache',
      handler: async () => {
        await tools.askWorkers({ op: 'flush' });
        await tools.tellCluster({ op: 'flush' });
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/proxy-cache/:cache_key',
      handler: async (req) => {
        const e = await found(tools, { op: 'get', key: req.params['cache_key']! });
        return e ? { status: 200, body: e } : NOT_FOUND;
      },
    },
    {
      method: 'DELETE',
      pattern: '/proxy-cache/:cache_key',
      handler: async (req) => {
        const key = req.params['cache_key']!;
        if (!(await purged(tools, { op: 'purge', key }))) return NOT_FOUND;
        await tools.tellCluster({ op: 'purge', key });
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/proxy-cache/:plugin_id/caches/:cache_key',
      handler: async (req) => {
        const plugin = pluginOf(tools, req.params['plugin_id']!);
        if (!plugin) return NOT_FOUND;
        const dictionary = (plugin.config as { memory?: { dictionary_name?: string } }).memory?.dictionary_name;
        const e = await found(tools, { op: 'get', key: req.params['cache_key']!, dictionary });
        return e ? { status: 200, body: e } : NOT_FOUND;
      },
    },
    {
      method: 'DELETE',
      pattern: '/proxy-cache/:plugin_id/caches/:cache_key',
      handler: async (req) => {
        const plugin = pluginOf(tools, req.params['plugin_id']!);
        if (!plugin) return NOT_FOUND;
        const dictionary = (plugin.config as { memory?: { dictionary_name?: string } }).memory?.dictionary_name;
        const key = req.params['cache_key']!;
        if (!(await purged(tools, { op: 'purge', key, dictionary }))) return NOT_FOUND;
        await tools.tellCluster({ op: 'purge', key, dictionary });
        return { status: 204 };
      },
    },
  ],
  // Another node's purge: do the same to this node's workers (not passed on: gossip reached every node).
  async onClusterMessage(msg, tools) {
    const q = msg as CacheQuestion;
    if (q.op === 'flush' || q.op === 'purge') await tools.askWorkers(q);
  },
};

export default hooks;
