import { z } from 'zod';

const list = z.array(z.string()).default([]);
const colonPairs = z.array(z.string().regex(/^[^:]+:.*$/, 'expected the form name:value')).default([]);

// Kong 3.x request-transformer config with its defaults.
export const requestTransformerSchema = z.object({
  http_method: z.string().regex(/^[A-Z]+$/).nullable().default(null),
  remove: z.object({ body: list, headers: list, querystring: list }).prefault({}),
  rename: z.object({ body: colonPairs, headers: colonPairs, querystring: colonPairs }).prefault({}),
  replace: z.object({ body: colonPairs, headers: colonPairs, querystring: colonPairs, uri: z.string().nullable().default(null) }).prefault({}),
  add: z.object({ body: colonPairs, headers: colonPairs, querystring: colonPairs }).prefault({}),
  append: z.object({ body: colonPairs, headers: colonPairs, querystring: colonPairs }).prefault({}),
});
export type RequestTransformerConfig = z.infer<typeof requestTransformerSchema>;
