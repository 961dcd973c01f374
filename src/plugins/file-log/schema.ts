import { z } from 'zod';
import { customFieldsSchema } from '../custom-fields.ts';

// Kong 3.x file-log config (kong/plugins/file-log/schema.lua) with its defaults.
export const fileLogSchema = z.object({
  path: z.string({ error: (iss) => (iss.input == null ? 'required field missing' : 'expected a string') }).regex(/^[^\s*&%`][^*&%`]*[^\s*&%`]$/, 'not a valid filename'),
  reopen: z.boolean().default(false),
  custom_fields_by_lua: customFieldsSchema,
});
export type FileLogConfig = z.infer<typeof fileLogSchema>;
