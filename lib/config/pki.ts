import { z } from 'zod';
import { name, vaultAuth } from './primitives';

const baseUrl = z.string().regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be a base URL like https://ca.example:8200');
const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port, e.g. web.internal:443 or 127.0.0.1:8443');

/** OpenBao/Vault PKI secrets engine: issues from `<mount>/issue/<role>`. */
const openbaoPki = z
  .object({
    type: z.literal('openbao-pki'),
    address: baseUrl,
    /** Mount of the issuing (intermediate) CA. */
    mount: z.string().min(1).default('pki_int'),
    /** Role the services' certificates are issued under. */
    role: z.string().min(1),
    /** Least-privilege credential (deploy/vault/policies/secdr-pki-renew.hcl). */
    auth: vaultAuth,
    caFile: z.string().optional().describe('CA bundle for TLS to the CA API itself'),
    /** Name of the CA in `components`: how the drill stops and starts it. */
    component: name,
  })
  .strict();

/** cfssl serve: issues from /api/v1/cfssl/newcert with a signing profile. */
const cfssl = z
  .object({
    type: z.literal('cfssl'),
    address: baseUrl,
    profile: z.string().min(1).default('server'),
    caFile: z.string().optional(),
    component: name,
  })
  .strict();

export const caConfig = z.discriminatedUnion('type', [openbaoPki, cfssl]);
export type CaConfig = z.infer<typeof caConfig>;

/** A service that serves a certificate from the CA. */
const endpoint = z
  .object({
    name,
    /** Where it listens; the drill completes a TLS handshake there. */
    address: hostPort,
    /** SNI name sent in the handshake; default: the host when it is not an IP. */
    serverName: z.string().optional(),
    /**
     * Where the service reads its certificate (leaf then chain, PEM) and key. When set, the drill
     * installs the renewed certificate there and proves the endpoint serves it after reloading.
     */
    renewal: z
      .object({
        certFile: z.string().min(1),
        keyFile: z.string().min(1),
        /** Names to request; default: serverName or host. IPs become IP SANs. */
        names: z.array(z.string().min(1)).min(1).optional(),
        /** POSTed after the files are written; without it the service must watch its files. */
        reloadUrl: z.string().url().optional(),
        /** Requested lifetime (e.g. 720h); OpenBao only, cfssl uses its profile's expiry. */
        ttl: z.string().regex(/^\d+[smh]$/, 'must be a duration like 720h').default('720h'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CaEndpoint = z.infer<typeof endpoint>;

export const caOutageConfig = z
  .object({
    ca: caConfig,
    endpoints: z.array(endpoint).min(1, 'list at least one TLS endpoint (name, address host:port) whose certificate comes from this CA'),
    /** PEM bundle files clients trust (the trust stores that must carry the CA's root). */
    trustStores: z.array(z.string().min(1)).min(1, 'list at least one trust-store bundle file (PEM) that holds the CA root'),
    /** How long a realistic CA outage lasts, in seconds (default 86400: a day to rebuild a CA). */
    outageWindowSeconds: z.number().int().positive().default(86_400),
    /** Renewal lead time certificates need beyond the outage, in seconds (default 86400). */
    renewalMarginSeconds: z.number().int().min(0).default(86_400),
    /** Renewal must succeed within this many seconds of the CA coming back (seed SLO: 300). */
    renewalSloSeconds: z.number().int().positive().default(300),
    /** Keep the CA down at least this long before bringing it back, in seconds (default 0). */
    holdSeconds: z.number().int().min(0).default(0),
    /** Per-request timeout for the CA and the TLS handshakes, in seconds (default 5): an outage is detected, never a hang. */
    requestTimeoutSeconds: z.number().int().positive().default(5),
    /** Cron (UTC) for `secdr schedules apply`; empty for none. */
    schedule: z.string().default(''),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.endpoints.forEach((e, i) => {
      if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'name'], message: `duplicate endpoint name "${e.name}": names must be unique` });
      seen.add(e.name);
    });
  });
export type CaOutageConfig = z.infer<typeof caOutageConfig>;
