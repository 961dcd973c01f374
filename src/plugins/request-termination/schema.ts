import { z } from 'zod';
import { text } from '../config-fields.ts';

const present = (v: string | null) => typeof v === 'string' && v.length > 0;

// Kong 3.x request-termination config with its defaults and its custom_validator.
export const requestTerminationSchema = z
  .object({
    status_code: z
      .int({ error: (iss) => (iss.input === undefined || iss.input === null ? 'required field missing' : 'expected an integer') })
      .min(100, 'value should be between 100 and 599')
      .max(599, 'value should be between 100 and 599')
      .default(503),
    message: text().nullable().default(null),
    content_type: text().nullable().default(null),
    body: text().nullable().default(null),
    echo: z.boolean().default(false),
    trigger: text().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'bad header name').nullable().default(null),
  })
  .superRefine((c, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (present(c.message) && (present(c.content_type) || present(c.body))) fail('message cannot be used with content_type or body');
    else if (present(c.content_type) && !present(c.body)) fail('content_type requires a body');
    else if (c.echo && (present(c.content_type) || present(c.body))) fail('echo cannot be used with content_type and body');
  });
export type RequestTerminationConfig = z.infer<typeof requestTerminationSchema>;
