// Delivers one batch of serialized entries to the collector, as Kong's send_entries does: one
// request with a JSON body (the entry itself for max_batch_size 1, else a JSON array), Basic
// auth from the URL's user info, the configured headers, certificates not verified (Kong sets
// ssl_verify = false). A status of 300 or more is a failure the queue retries.
import { Agent, request } from 'undici';
import { linesBytes, type LogLine } from '../log-line.ts';
import type { HttpLogConfig } from './schema.ts';

export type Send = (entries: LogLine[]) => Promise<void>;

export function makeSender(conf: HttpLogConfig): Send {
  const url = new URL(conf.http_endpoint);
  const headers: Record<string, string> = { 'content-type': conf.content_type };
  if (url.username || url.password) {
    headers['authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
  }
  for (const [h, v] of Object.entries(conf.headers ?? {})) if (headers[h.toLowerCase()] === undefined) headers[h] = v;
  url.username = '';
  url.password = '';
  const target = url.toString();
  const dispatcher = new Agent({
    keepAliveTimeout: conf.keepalive,
    headersTimeout: conf.timeout,
    bodyTimeout: conf.timeout,
    connectTimeout: conf.timeout,
    connect: { rejectUnauthorized: false },
  });
  const batched = conf.queue.max_batch_size > 1 || (conf.queue_size ?? 1) > 1;
  return async (entries) => {
    const body = linesBytes(entries, batched);
    const res = await request(target, { method: conf.method, headers, body, dispatcher });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new Error(`request to ${url.host} returned status code ${res.statusCode} and body ${text.slice(0, 200)}`);
    }
  };
}
