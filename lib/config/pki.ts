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

/**
 * A cert-manager Certificate whose issuer uses this CA. The drill reads its status (Ready,
 * Issuing, notAfter) and requests renewals like `cmctl renew`; it never reads the Secret
 * (the worker's Role grants no Secrets), so its inventory line comes from the status.
 */
const certificateRef = z
  .object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    /** Kubeconfig file for the cluster; default: in-cluster config, else $KUBECONFIG / ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    /** How long cert-manager may take to report a renewal's outcome (Issuing/Ready conditions), in seconds (default 120). */
    reportTimeoutSeconds: z.number().int().positive().default(120),
  })
  .strict();
export type CertificateEndpointRef = z.infer<typeof certificateRef>;

/** A service that serves a certificate from the CA: a TLS address, or a cert-manager Certificate. */
const endpoint = z
  .object({
    name,
    /** Where it listens; the drill completes a TLS handshake there. Give this or `certificate`. */
    address: hostPort.optional(),
    /** A cert-manager Certificate instead of an address (Kubernetes). */
    certificate: certificateRef.optional(),
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
    endpoints: z
      .array(endpoint)
      .min(1, 'list at least one endpoint (name and address host:port, or name and certificate: {namespace, name}) whose certificate comes from this CA'),
    /** Names the drill's own renewal probe at the CA requests; default: those of the first host:port endpoint. Needed when every endpoint is a Certificate. */
    probeNames: z.array(z.string().min(1)).min(1).optional(),
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
      if ((e.address === undefined) === (e.certificate === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i],
          message: `endpoint "${e.name}" needs exactly one of address (host:port of a TLS service) or certificate ({namespace, name} of a cert-manager Certificate)`,
        });
      }
      if (e.certificate && e.renewal) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'renewal'],
          message: `endpoint "${e.name}" is a cert-manager Certificate: cert-manager installs its renewals, remove renewal (it is for host:port endpoints)`,
        });
      }
    });
    if (!cfg.probeNames && !cfg.endpoints.some((e) => e.address)) {
      ctx.addIssue({
        code: 'custom',
        path: ['probeNames'],
        message: 'every endpoint is a cert-manager Certificate: list the names the drill requests when it probes the CA (probeNames: [name allowed by the CA role])',
      });
    }
  });
export type CaOutageConfig = z.infer<typeof caOutageConfig>;
