import { z } from 'zod';
import { text } from '../config-fields.ts';

/** Kong's is_regex: the pattern must compile. */
const regex = text().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: (iss) => `not a valid regex: ${String(iss.input)}` },
);

// Kong 3.x bot-detection config with its defaults.
export const botDetectionSchema = z.object({
  allow: z.array(regex).default([]),
  deny: z.array(regex).default([]),
});
export type BotDetectionConfig = z.infer<typeof botDetectionSchema>;
