import { z } from 'zod';

/** Config building blocks shared by every section (sections import these, never schema.ts). */

// Secrets are never written in the config: it names a file or an environment
// variable, read by the worker when it needs the credential.
export const secretRef = z
  .object({
    file: z.string().min(1).optional().describe('path of a file holding the value'),
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name like VAULT_TOKEN').optional(),
  })
  .strict()
  .refine((r) => (r.file ? 1 : 0) + (r.env ? 1 : 0) === 1, {
    message: 'give exactly one of `file` or `env` (secrets are never written inline)',
  });
export type SecretRef = z.infer<typeof secretRef>;

export const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be a base URL like https://vault-0.example:8200');

export const vaultAuth = z.discriminatedUnion('method', [
  z.object({ method: z.literal('token'), token: secretRef }).strict(),
  z
    .object({
      method: z.literal('approle'),
      mount: z.string().default('approle'),
      roleId: secretRef,
      secretId: secretRef,
    })
    .strict(),
]);
export type VaultAuth = z.infer<typeof vaultAuth>;

export const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes (max 63)');
