import { z } from 'zod';

const list = z.array(z.string()).default([]);
const colonPairs = z.array(z.string().regex(/^[^:]+:.*$/, 'expected the form name:value')).default([]);

// Kong 3.x response-transformer config with its defaults.
export const responseTransformerSchema = z.object({
  remove: z.object({ headers: list, json: list }).prefault({}),
  rename: z.object({ headers: colonPairs, json: colonPairs }).prefault({}),
  replace: z.object({ headers: colonPairs, json: colonPairs, json_types: list }).prefault({}),
  add: z.object({ headers: colonPairs, json: colonPairs, json_types: list }).prefault({}),
  append: z.object({ headers: colonPairs, json: colonPairs, json_types: list }).prefault({}),
});
export type ResponseTransformerConfig = z.infer<typeof responseTransformerSchema>;
