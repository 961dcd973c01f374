import { z } from 'zod';

// Kong 3.x request-size-limiting config with its defaults.
export const requestSizeLimitingSchema = z.object({
  allowed_payload_size: z.number().int().positive().default(128),
  size_unit: z.enum(['megabytes', 'kilobytes', 'bytes']).default('megabytes'),
  require_content_length: z.boolean().default(false),
});
export type RequestSizeLimitingConfig = z.infer<typeof requestSizeLimitingSchema>;
