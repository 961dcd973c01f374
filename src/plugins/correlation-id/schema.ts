import { z } from 'zod';
import { text } from '../config-fields.ts';

// Kong 3.x correlation-id config with its defaults.
export const correlationIdSchema = z.object({
  header_name: text().default('Kong-Request-ID'),
  generator: z
    .enum(['uuid', 'uuid#counter', 'tracker'], { error: (iss) => (iss.input === null ? 'required field missing' : 'expected one of: uuid, uuid#counter, tracker') })
    .default('uuid#counter'),
  echo_downstream: z.boolean().default(false),
});
export type CorrelationIdConfig = z.infer<typeof correlationIdSchema>;
