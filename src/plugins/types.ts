// The interface every bundled plugin implements (Kong's handler.lua, as TypeScript).
// A handler builds one instance per configured plugin entity when the configuration is
// compiled, so per-request work is only what the phase itself needs.
import type { Logger } from 'pino';
import type { EntityStore } from '../cache/entity-store.ts';
import type { Plugin } from '../entities/types.ts';
import type { ProxyContext, ResponseHead } from '../proxy/context.ts';

/** Counters shared by a node's workers (rate limiting); see src/proxy/counters.ts. */
export interface CounterStore {
  /** Current count of `key` in the window ending at `expiresAt` (ms epoch). */
  get(key: string, expiresAt: number): number;
  /** Add `by` and return the new count. */
  incr(key: string, expiresAt: number, by: number): number;
}

export interface PluginEnv {
  store: EntityStore;
  counters: CounterStore;
  logger: Logger;
}

export interface PluginInstance {
  readonly name: string;
  /** access phase: may call ctx.exit() to answer the client without proxying. */
  access?(ctx: ProxyContext): void;
  /**
   * Whether this request's access phase needs the request body (key-auth key_in_body when no
   * key is in a header or the query): the proxy then reads it whole into ctx.requestBody
   * before access and sends that upstream. Otherwise the body streams.
   */
  needsBody?(ctx: ProxyContext): boolean;
  /** header_filter: edit the response status line and headers before they are sent. */
  headerFilter?(ctx: ProxyContext, head: ResponseHead): void;
  /** body_filter: transform each response chunk (return it unchanged to pass it through). */
  bodyFilter?(ctx: ProxyContext, chunk: Buffer): Buffer;
  /** log: after the response has been sent. */
  log?(ctx: ProxyContext): void;
  /** Release timers etc. when the configuration that built it is replaced. */
  close?(): void;
}

export interface PluginHandler<C = Record<string, unknown>> {
  /** Builds an instance from a validated config (defaults filled by the plugin's schema). */
  create(config: C, env: PluginEnv, entity: Plugin): PluginInstance;
}
