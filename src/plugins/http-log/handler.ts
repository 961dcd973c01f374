// Kong's http-log: each request's log entry (kong.log.serialize) goes into a queue that sends
// batches to the collector in the background, so the request never waits for the collector.
// Queues are per process and shared by instances with the same endpoint settings (Kong's
// make_queue_name), so a configuration change does not lose what is waiting.
import type { PluginHandler, PluginInstance } from '../types.ts';
import { writeLine } from '../log-entry-json.ts';
import type { LogLine } from '../log-line.ts';
import { droppedEntries } from '../log-metrics.ts';
import { LogQueue, type QueueParams } from '../log-queue.ts';
import type { HttpLogConfig } from './schema.ts';
import { makeSender } from './sender.ts';

const queues = new Map<string, LogQueue<LogLine>>();

/** At most one log line per this many ms about dropped entries. */
const DROP_LOG_INTERVAL_MS = 10_000;

function queueName(c: HttpLogConfig): string {
  return [c.http_endpoint, c.method, c.content_type, c.timeout, c.keepalive, c.retry_count, c.queue_size, c.flush_timeout].join(':');
}

/** Kong's Queue.get_plugin_params: the legacy queue_size / flush_timeout still take effect. */
function queueParams(c: HttpLogConfig): QueueParams {
  const p = { ...c.queue };
  if (c.queue_size !== null && c.queue_size !== 1) p.max_batch_size = c.queue_size;
  if (c.flush_timeout !== null && c.flush_timeout !== 2) p.max_coalescing_delay = c.flush_timeout;
  return p;
}

const handler: PluginHandler<HttpLogConfig> = {
  create(conf, env): PluginInstance {
    const name = queueName(conf);
    if (conf.retry_count !== null && conf.retry_count !== 10) {
      env.logger.warn({ plugin: 'http-log' }, 'http-log: the retry_count parameter no longer works, please update your configuration to use initial_retry_delay and max_retry_time instead');
    }
    if (conf.queue_size !== null && conf.queue_size !== 1) {
      env.logger.warn({ plugin: 'http-log' }, 'http-log: the queue_size parameter is deprecated, please update your configuration to use queue.max_batch_size instead');
    }
    if (conf.flush_timeout !== null && conf.flush_timeout !== 2) {
      env.logger.warn({ plugin: 'http-log' }, 'http-log: the flush_timeout parameter is deprecated, please update your configuration to use queue.max_coalescing_delay instead');
    }
    let loggedAt = 0;
    let unlogged = 0;
    const queue = (): LogQueue<LogLine> => {
      let q = queues.get(name);
      if (!q) {
        const send = makeSender(conf);
        q = new LogQueue<LogLine>(name, queueParams(conf), {
          send,
          onDrop(count, reason, detail) {
            droppedEntries.inc({ plugin: 'http-log', reason }, count);
            // A dead collector under load drops on every request: one line per interval, with
            // the count since the last one, instead of one per request.
            unlogged += count;
            const now = Date.now();
            if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
            env.logger.error({ plugin: 'http-log', dropped: unlogged, reason }, `http-log: ${detail}`);
            loggedAt = now;
            unlogged = 0;
          },
        });
        queues.set(name, q);
      }
      return q;
    };
    return {
      name: 'http-log',
      log(ctx) {
        queue().enqueue(writeLine(ctx, conf.custom_fields_by_lua));
      },
    };
  },
};

export default handler;
