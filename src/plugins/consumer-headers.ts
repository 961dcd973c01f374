// The headers every Kong auth plugin sets on the upstream request once a consumer is known.
import type { Consumer } from '../entities/types.ts';
import type { ProxyContext } from '../proxy/context.ts';

export function setConsumerHeaders(ctx: ProxyContext, consumer: Consumer, credentialId: string | null, anonymous: boolean): void {
  ctx.setRequestHeader('x-consumer-id', consumer.id);
  if (consumer.custom_id) ctx.setRequestHeader('x-consumer-custom-id', consumer.custom_id);
  else clear(ctx, 'x-consumer-custom-id');
  if (consumer.username) ctx.setRequestHeader('x-consumer-username', consumer.username);
  else clear(ctx, 'x-consumer-username');
  if (credentialId) ctx.setRequestHeader('x-credential-identifier', credentialId);
  else clear(ctx, 'x-credential-identifier');
  if (anonymous) ctx.setRequestHeader('x-anonymous-consumer', 'true');
  else clear(ctx, 'x-anonymous-consumer');
}

/** Removes a header only if it has a value (from the client or an earlier plugin): most requests have none. */
function clear(ctx: ProxyContext, name: string): void {
  if (ctx.getRequestHeader(name) !== undefined) ctx.removeRequestHeader(name);
}
