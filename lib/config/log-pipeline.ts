import { z } from 'zod';
import { name, secretRef } from './primitives';
import { BOTH_DOWN_MIN_OUTAGE_SECONDS } from '../logs/both-down-window';


const baseUrl = z.string().regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be a base URL like http://victorialogs:9428');

/** One log backend the shipper writes to, and how the drill queries it and stops it. */
const backend = z
  .object({
    /** VictoriaLogs is queried with LogsQL; Loki with LogQL through its HTTP API. */
    type: z.enum(['victorialogs', 'loki']),
    /** Query API base URL (VictoriaLogs :9428, Loki :3100). */
    url: baseUrl,
    /** Name of the backend in `components`: how the drill stops and starts it. */
    component: name,
    /** Loki only: the stream selector the shipper's lines carry (the deployed Fluent Bit sets job=fluent-bit). */
    selector: z.string().regex(/^\{.+\}$/, 'must be a LogQL stream selector like {job="fluent-bit"}').default('{job="fluent-bit"}'),
    /** Loki multi-tenancy: sent as X-Scope-OrgID. */
    tenant: z.string().min(1).optional(),
    /** Bearer token for the query API (a file or env reference, never inline). */
    bearerToken: secretRef.optional(),
  })
  .strict();
export type LogBackendConfig = z.infer<typeof backend>;

/** Where the drill's canary lines enter the pipeline: a file the shipper tails, or its ingest endpoint. */
const canary = z
  .object({
    /** A file the shipper tails (vlagent -fileCollector.glob, Fluent Bit tail input); the worker appends to it. */
    file: z.string().min(1).optional(),
    /** The shipper's JSON-lines ingest URL, e.g. http://vlagent:9429/insert/jsonline. */
    ingestUrl: z.string().url().optional(),
  })
  .strict()
  .refine((c) => (c.file ? 1 : 0) + (c.ingestUrl ? 1 : 0) === 1, {
    message: 'give exactly one of `file` (a file the shipper tails) or `ingestUrl` (the shipper\'s JSON-lines ingest endpoint)',
  });

/** The host-level degraded-mode detector the both-down variant runs while both backends are down. */
const hostDetector = z
  .object({
    /** deploy/host/secdr-degraded-check.sh as installed on every worker host. */
    script: z.string().min(1).default('/usr/local/sbin/secdr-degraded-check.sh'),
    /** The emergency webhook it pages (file or env reference: webhook URLs carry tokens). */
    emergencyWebhook: secretRef,
  })
  .strict();

/** The log-failover drill (docs/runbooks/log-failover.md). */
export const logPipelineConfig = z
  .object({
    primary: backend,
    secondary: backend,
    canary,
    /** Seconds the primary stays down while canaries are emitted (default 60). */
    outageWindowSeconds: z.number().int().min(5).default(60),
    /**
     * Seconds both backends stay down in the both-down variant (default and minimum 110: long
     * enough for LogPipelineDown to fire, see BOTH_DOWN_MIN_OUTAGE_SECONDS).
     */
    bothDownOutageWindowSeconds: z
      .number()
      .int()
      .min(BOTH_DOWN_MIN_OUTAGE_SECONDS, `must be at least ${BOTH_DOWN_MIN_OUTAGE_SECONDS} s: LogPipelineDown needs a 1-minute window without a delivered block, then 30 s (for), before it fires; raise it or leave it unset`)
      .default(BOTH_DOWN_MIN_OUTAGE_SECONDS),
    /** Seconds between canaries (default 1: the failover delay is measured to the second). */
    canaryIntervalSeconds: z.number().int().min(1).default(1),
    /** SLO: seconds from the stop until the first outage canary is in the secondary (default 30). */
    sloSeconds: z.number().int().positive().default(30),
    /** Seconds after the primary is ready again within which every outage canary must reach it (default 120). */
    catchUpLimitSeconds: z.number().int().positive().default(120),
    /** Optional Prometheus base URL: the both-down variant checks that the pipeline alerts fire there. */
    prometheusUrl: baseUrl.optional(),
    /** Optional: the both-down variant runs the host-level detector, which must page the emergency webhook. */
    hostDetector: hostDetector.optional(),
  })
  .strict()
  .refine((c) => c.primary.component !== c.secondary.component, {
    message: 'primary and secondary name the same component: the drill would stop the secondary it relies on; give each backend its own component',
    path: ['secondary', 'component'],
  });
export type LogPipelineConfig = z.infer<typeof logPipelineConfig>;

/** Cross-checks against the rest of the config (called from configSchema's superRefine). */
export function checkLogPipelineRefs(
  cfg: { logPipeline?: LogPipelineConfig; components: { name: string }[] },
  ctx: z.RefinementCtx,
): void {
  if (!cfg.logPipeline) return;
  for (const role of ['primary', 'secondary'] as const) {
    const component = cfg.logPipeline[role].component;
    if (!cfg.components.some((c) => c.name === component)) {
      ctx.addIssue({
        code: 'custom',
        path: ['logPipeline', role, 'component'],
        message: `no component named "${component}"; add it under \`components\` (with its platform: kubernetes, process, systemd or command) or fix the name`,
      });
    }
  }
}
