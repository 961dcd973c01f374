import { z } from 'zod';

// Kong 3.x prometheus config with its defaults.
export const prometheusSchema = z.object({
  per_consumer: z.boolean().default(false),
  status_code_metrics: z.boolean().default(false),
  latency_metrics: z.boolean().default(false),
  bandwidth_metrics: z.boolean().default(false),
  upstream_health_metrics: z.boolean().default(false),
});
export type PrometheusConfig = z.infer<typeof prometheusSchema>;
