import { z } from 'zod';

// Kong 3.x acl config with its defaults and entity checks (allow or deny, not both).
export const aclSchema = z
  .object({
    allow: z.array(z.string()).nullable().default(null),
    deny: z.array(z.string()).nullable().default(null),
    hide_groups_header: z.boolean().default(false),
    always_use_authenticated_groups: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const allow = (c.allow?.length ?? 0) > 0;
    const deny = (c.deny?.length ?? 0) > 0;
    if (allow && deny) ctx.addIssue({ code: 'custom', message: "only one of these fields must be non-empty: 'config.allow', 'config.deny'" });
    if (!allow && !deny) ctx.addIssue({ code: 'custom', message: "at least one of these fields must be non-empty: 'config.allow', 'config.deny'" });
  });
export type AclConfig = z.infer<typeof aclSchema>;
