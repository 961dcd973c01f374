// The headers every Kong auth plugin sets on the upstream request once a consumer is known.
import type { Consumer } from '../entities/types.ts';
import type { ProxyContext } from '../proxy/context.ts';

export function setConsumerHeaders(ctx: ProxyContext, consumer: Consumer, credentialId: string | null, anonymous: boolean): void {
  ctx.setRequestHeader('x-consumer-id', consumer.id);
  if (consumer.custom_id) ctx.setRequestHeader('x-consumer-custom-id', consumer.custom_id);
  else ctx.removeRequestHeader('x-consumer-custom-id');
  if (consumer.username) ctx.setRequestHeader('x-consumer-username', consumer.username);
  else ctx.removeRequestHeader('x-consumer-username');
  if (credentialId) ctx.setRequestHeader('x-credential-identifier', credentialId);
  else ctx.removeRequestHeader('x-credential-identifier');
  if (anonymous) ctx.setRequestHeader('x-anonymous-consumer', 'true');
  else ctx.removeRequestHeader('x-anonymous-consumer');
}
