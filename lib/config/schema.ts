import { z } from 'zod';
import { componentConfig } from './components';
import { alertingDrillConfig, quarterlyDrillConfig } from './drills';
import { caOutageConfig } from './pki';
import { checkLogPipelineRefs, logPipelineConfig } from './log-pipeline';

import { httpUrl, name, secretRef, vaultAuth } from './primitives';

export { secretRef, vaultAuth, type SecretRef, type VaultAuth } from './primitives';


const cluster = z
  .object({
    name,
    /** Every node's API address; the snapshot is taken from whichever is active. */
    nodes: z.array(httpUrl).min(1, 'list at least one node address'),
    caFile: z.string().optional(),
    auth: vaultAuth,
    canary: z
      .object({ mount: z.string().default('secret'), path: z.string().default('secdr/canary') })
      .strict()
      .default({ mount: 'secret', path: 'secdr/canary' }),
    /** Cron expression (UTC) for `secdr schedules apply`. */
    schedule: z.string().default('0 2 * * *'),
    /** Where snapshots are streamed before verification. */
    stagingDir: z.string().default('/var/lib/secdr/staging'),
    /** Local staged copies older than this many days are removed. */
    localRetentionDays: z.number().int().min(0).default(7),
  })
  .strict();

const s3Storage = z
  .object({
    name,
    type: z.literal('s3'),
    bucket: z.string().min(3),
    region: z.string().min(1),
    prefix: z.string().default('vault-snapshots/'),
    /** KMS key for SSE-KMS; required: snapshots are never stored unencrypted. */
    kmsKeyId: z.string().min(1, 'set the KMS key id or ARN used for SSE-KMS'),
    /** For S3-compatible endpoints and the local emulator. */
    endpoint: httpUrl.optional(),
    forcePathStyle: z.boolean().default(false),
  })
  .strict();

const localStorage = z.object({ name, type: z.literal('local'), dir: z.string().min(1) }).strict();

const storage = z.discriminatedUnion('type', [s3Storage, localStorage]);
export type StorageConfig = z.infer<typeof storage>;
export type S3StorageConfig = z.infer<typeof s3Storage>;

const retention = z
  .object({
    /** Keep the newest N regardless of age. */
    keepLast: z.number().int().min(1).default(3),
    daily: z.number().int().min(0).default(7),
    weekly: z.number().int().min(0).default(4),
    monthly: z.number().int().min(0).default(12),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof retention>;

const restoreTarget = z
  .object({
    name,
    address: httpUrl,
    caFile: z.string().optional(),
    seal: z.enum(['auto', 'shamir']),
    /**
     * Auto-unseal only: the KMS the target's seal uses, checked before the restore so an
     * unreachable one fails at once (SealKmsUnavailable) instead of waiting for the hard limit.
     * `transit`: the Vault/OpenBao holding the transit key (must answer active);
     * `awskms`: the KMS endpoint (any HTTP answer counts as reachable).
     */
    kms: z.object({ type: z.enum(['transit', 'awskms']), address: httpUrl, caFile: z.string().optional() }).strict().optional(),
    /** Shamir only: shares and threshold used when initialising the fresh target. */
    shamir: z.object({ shares: z.number().int().min(1), threshold: z.number().int().min(1) }).strict().optional(),
    /** Least-privilege credential that exists in the restored data (not a root token). */
    verifier: vaultAuth,
    /**
     * The restorer AppRole from the source's data (deploy/vault/policies/secdr-restorer.hcl): lets a
     * repeated (weekly) restore force-restore over an earlier restore of the same source, and seal it.
     */
    restorer: vaultAuth.optional(),
    /**
     * What happens to the restored copy after verification, also after a failed or cancelled run:
     * `seal` (default; needs `restorer`), `stop` (through the platform adapter of `component`), or
     * `keep` (explicit: a live copy of production stays up; the report warns).
     */
    after: z.enum(['seal', 'stop', 'keep']).default('seal'),
    /** Component (components[].name) that runs the target: `after: stop` stops it, the next run starts it; an auto-unseal target sealed by the last run is restarted through it. */
    component: name.optional(),
    database: z
      .object({
        mount: z.string().default('database'),
        role: z.string().min(1),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(5432),
        database: z.string().default('postgres'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RestoreTarget = z.infer<typeof restoreTarget>;

const deadMansSwitch = z
  .object({
    /** Id of the one long-running switch workflow; `secdr webhook` signals (or starts) it. */
    workflowId: z.string().min(1).default('secdr-dead-mans-switch'),
    /** Seconds without a firing Watchdog before the emergency page (default 300: five missed 1-minute heartbeats). */
    windowSeconds: z.number().int().positive().default(300),
    /** Independent of Alertmanager: a webhook that pages someone. The URL may embed a token, so it is a secret reference. */
    emergencyWebhook: z.object({ url: secretRef }).strict().optional(),
    /**
     * Credentials Alertmanager's webhook_config sends (http_config.authorization or basic_auth).
     * Required when `listen.host` is not a loopback address; a delivery without them is refused (401).
     */
    auth: z
      .union([
        z.object({ bearerToken: secretRef }).strict(),
        z.object({ basicAuth: z.object({ username: z.string().min(1), password: secretRef }).strict() }).strict(),
      ])
      .optional(),
    /** Where `secdr webhook` listens for Alertmanager (path /watchdog). */
    listen: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9095) })
      .strict()
      .default({ host: '127.0.0.1', port: 9095 }),
  })
  .strict();
export type DeadMansSwitchConfig = z.infer<typeof deadMansSwitch>;
/** The settings used when the config has no `deadMansSwitch` section. */
export const deadMansSwitchDefaults: DeadMansSwitchConfig = deadMansSwitch.parse({});

export const configSchema = z
  .object({
    temporal: z.object({ taskQueue: z.string().default('secdr') }).strict().default({ taskQueue: 'secdr' }),
    clusters: z.array(cluster).min(1, 'configure at least one Vault cluster'),
    storage: z.array(storage).min(1, 'configure at least one snapshot storage'),
    retention: retention.default({ keepLast: 3, daily: 7, weekly: 4, monthly: 12 }),
    restore: z
      .object({
        targets: z.array(restoreTarget).default([]),
        slo: z
          .object({
            /** Seconds from restore start until secrets read back (seed SLO: 300). */
            secretsReadableSeconds: z.number().int().positive().default(300),
            /** Seconds for the whole restore (seed SLO: 900). */
            wholeRestoreSeconds: z.number().int().positive().default(900),
            /** Hard limit after a breach: the workflow keeps trying until then. */
            hardLimitSeconds: z.number().int().positive().default(3600),
          })
          .strict()
          .default({ secretsReadableSeconds: 300, wholeRestoreSeconds: 900, hardLimitSeconds: 3600 }),
        /** How many older verified snapshots to try when one fails. */
        fallbackAttempts: z.number().int().min(0).default(2),
        /** Cron (UTC) of the weekly test restore; empty for none. */
        testSchedule: z.string().default('0 4 * * 0'),
        testTarget: z.string().optional(),
      })
      .strict()
      .default({
        targets: [],
        slo: { secretsReadableSeconds: 300, wholeRestoreSeconds: 900, hardLimitSeconds: 3600 },
        fallbackAttempts: 2,
        testSchedule: '0 4 * * 0',
      }),
    alertmanager: z.object({ url: httpUrl }).strict().optional(),
    /** Alerting-delivery drill: the delivery probe and SLOs (lib/config/drills.ts). */
    alertingDrill: alertingDrillConfig.optional(),
    /** The quarterly drill: which drills, approval gate, schedule (lib/config/drills.ts). */
    quarterlyDrill: quarterlyDrillConfig.optional(),
    /** CA-outage drill: the CA, its TLS endpoints and trust stores (lib/config/pki.ts). */
    caOutage: caOutageConfig.optional(),
    /** Log-failover drill: the two log backends, the canary entry point and the SLOs (lib/config/log-pipeline.ts). */
    logPipeline: logPipelineConfig.optional(),
    /** Components drills may stop and start, each with its platform adapter (lib/platform/). */
    components: z.array(componentConfig).default([]),
    /** Where restore and drill reports (JSON + Markdown) are written. */
    reportsDir: z.string().default('/var/lib/secdr/reports'),
    metrics: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(9464) })
      .strict()
      .default({ host: '127.0.0.1', port: 9464 }),
    /** Dead man's switch fed by Alertmanager's Watchdog through `secdr webhook` (docs/dead-mans-switch.md). */
    deadMansSwitch: deadMansSwitch.optional(),
    codec: z
      .object({
        keyId: z.string().min(1).default('local-1'),
        key: secretRef,
        /** Keys rotated out: still used to decode history and Schedules written with them, never to encode. */
        previousKeys: z.array(z.object({ keyId: z.string().min(1), key: secretRef }).strict()).default([]),
        /** The codec server the Web UI calls (`secdr dev`): a bearer token and the one UI origin allowed (CORS). */
        server: z.object({ token: secretRef, allowedOrigin: httpUrl }).strict().optional(),
      })
      .strict()
      .describe('AES-256-GCM payload encryption key (32 bytes, base64 or raw file)'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const unique = (items: { name: string }[], path: string) => {
      const seen = new Set<string>();
      items.forEach((it, i) => {
        if (seen.has(it.name)) {
          ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `duplicate name "${it.name}": names must be unique` });
        }
        seen.add(it.name);
      });
    };
    unique(cfg.clusters, 'clusters');
    unique(cfg.storage, 'storage');
    unique(cfg.components, 'components');
    checkLogPipelineRefs(cfg, ctx);
    cfg.restore.targets.forEach((t, i) => {
      if (t.seal === 'shamir' && !t.shamir) {
        ctx.addIssue({ code: 'custom', path: ['restore', 'targets', i, 'shamir'], message: 'a Shamir target needs `shamir: {shares, threshold}`' });
      }
      if (t.shamir && t.shamir.threshold > t.shamir.shares) {
        ctx.addIssue({ code: 'custom', path: ['restore', 'targets', i, 'shamir', 'threshold'], message: 'threshold cannot exceed shares' });
      }
      if (t.after === 'seal' && !t.restorer) {
        ctx.addIssue({
          code: 'custom',
          path: ['restore', 'targets', i, 'restorer'],
          message:
            'required when after is seal (the default): the restorer AppRole from the source\'s data seals the restored copy (its policy holds sys/seal); ' +
            'add a restorer AppRole (deploy/vault/policies/secdr-restorer.hcl) or set after: stop (with component) or after: keep',
        });
      }
      if (t.after === 'stop' && !t.component) {
        ctx.addIssue({ code: 'custom', path: ['restore', 'targets', i, 'component'], message: '`after: stop` stops the target through its platform adapter: name the component that runs it (components[].name)' });
      }
      if (t.component && !cfg.components.some((c) => c.name === t.component)) {
        ctx.addIssue({ code: 'custom', path: ['restore', 'targets', i, 'component'], message: `no component named "${t.component}"; add it under components: (name + platform) or fix the name` });
      }
      if (t.kms && t.seal !== 'auto') {
        ctx.addIssue({ code: 'custom', path: ['restore', 'targets', i, 'kms'], message: 'only an auto-unseal target (`seal: auto`) has a seal KMS; remove `kms` or set `seal: auto`' });
      }
    });
    if (cfg.restore.testTarget && !cfg.restore.targets.some((t) => t.name === cfg.restore.testTarget)) {
      ctx.addIssue({
        code: 'custom',
        path: ['restore', 'testTarget'],
        message: `no restore target named "${cfg.restore.testTarget}"; add it under restore.targets or fix the name`,
      });
    }
  });

export type SecdrConfig = z.infer<typeof configSchema>;
export type ClusterConfig = SecdrConfig['clusters'][number];
