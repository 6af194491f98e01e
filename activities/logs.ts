import { appendFile } from 'node:fs/promises';
import type { LogBackendConfig, LogPipelineConfig } from '../lib/config/log-pipeline';
import { readSecret } from '../lib/config/load';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import type { LogBackendClient } from '../lib/logs/backend';
import { canaryLine, type Canary } from '../lib/logs/canary';
import { runHostDetector, type HostDetectorResult } from '../lib/logs/host-detector';
import { LokiClient } from '../lib/logs/loki';
import { VictoriaLogsClient } from '../lib/logs/victorialogs';

/** Which configured backend: the drill only ever names them by role. */
export type LogRole = 'primary' | 'secondary';

export interface BackendReadiness {
  role: LogRole;
  component: string;
  ready: boolean;
  detail: string;
}

/** Alert names the both-down variant expects firing in Prometheus, one per shipper type. */
export const PIPELINE_ALERTS = ['VlagentRemoteWriteErrors', 'LogPipelineDown'] as const;

function pipelineOf(config: SecdrConfig): LogPipelineConfig {
  if (!config.logPipeline) {
    throw fail(
      FailureType.InvalidInput,
      'the config has no logPipeline section: add primary, secondary and canary (see examples/secdr.yaml and docs/runbooks/log-failover.md)',
    );
  }
  return config.logPipeline;
}

/** The query client for one backend; the bearer token is read here, on the worker, never passed in. */
export function clientFor(b: LogBackendConfig): LogBackendClient {
  const headers: Record<string, string> = {};
  if (b.tenant) headers['X-Scope-OrgID'] = b.tenant;
  if (b.bearerToken) headers.authorization = `Bearer ${readSecret(b.bearerToken, `logPipeline ${b.component} bearerToken`)}`;
  return b.type === 'loki' ? new LokiClient(b.url, b.selector, headers) : new VictoriaLogsClient(b.url, headers);
}

/**
 * The log pipeline as the log-failover drill sees it: backends' readiness, canaries into
 * the shipper, canaries counted per backend. Stopping and starting backends goes through the
 * platform activities (activities/platform.ts), by component name.
 */
export function createLogActivities(config: SecdrConfig) {
  return {
    /** Readiness of one backend; never throws for "not ready" (the workflow decides what that means). */
    async logBackendReady(input: { role: LogRole }): Promise<BackendReadiness> {
      const b = pipelineOf(config)[input.role];
      const r = await clientFor(b).ready();
      return { role: input.role, component: b.component, ...r };
    },

    /** Hands one canary line to the shipper (appends to the tailed file, or posts to its ingest endpoint). */
    async emitCanary(input: { run: string; seq: number }): Promise<Canary> {
      const target = pipelineOf(config).canary;
      const canary: Canary = { run: input.run, seq: input.seq, sentAt: new Date().toISOString() };
      const line = `${canaryLine(canary)}\n`;
      if (target.file) {
        try {
          await appendFile(target.file, line);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          throw fail(
            code === 'ENOENT' || code === 'EACCES' ? FailureType.InvalidInput : FailureType.LogBackendUnavailable,
            `logPipeline.canary.file ${target.file}: cannot append (${code ?? (err as Error).message}); ` +
              'it must be a file the shipper tails and the worker may write (its directory must exist)',
          );
        }
        return canary;
      }
      const url = target.ingestUrl!;
      let res: Response;
      try {
        // stream+json: with a form content type VictoriaLogs/vlagent answer 200 and store nothing.
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/stream+json' }, body: line, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw fail(FailureType.LogBackendUnavailable, `logPipeline.canary.ingestUrl ${new URL(url).origin}: ${(err as Error).message}; is the shipper up?`);
      }
      await res.body?.cancel();
      if (!res.ok) throw fail(FailureType.LogBackendUnavailable, `logPipeline.canary.ingestUrl ${new URL(url).origin}: HTTP ${res.status}`);
      return canary;
    },

    /** The canary numbers of drill `run` stored in a backend (a query failure throws LogBackendUnavailable). */
    async canariesIn(input: { role: LogRole; run: string; since: string }): Promise<number[]> {
      return clientFor(pipelineOf(config)[input.role]).canarySeqs(input.run, new Date(input.since));
    },

    /**
     * The pipeline alerts firing in Prometheus (logPipeline.prometheusUrl), for the both-down
     * variant; undefined when no Prometheus is configured.
     */
    async firingPipelineAlerts(): Promise<string[] | undefined> {
      const prom = pipelineOf(config).prometheusUrl;
      if (!prom) return undefined;
      const url = `${prom.replace(/\/$/, '')}/api/v1/alerts`;
      let body: { status: string; data?: { alerts: { labels: Record<string, string>; state: string }[] } };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        body = (await res.json()) as typeof body;
      } catch (err) {
        throw fail(FailureType.LogBackendUnavailable, `Prometheus ${new URL(url).origin} (logPipeline.prometheusUrl): ${(err as Error).message}`);
      }
      const names = (body.data?.alerts ?? [])
        .filter((a) => a.state === 'firing' && (PIPELINE_ALERTS as readonly string[]).includes(a.labels.alertname))
        .map((a) => `${a.labels.alertname}${a.labels.url ? `{url=${a.labels.url}}` : a.labels.name ? `{name=${a.labels.name}}` : ''}`);
      return [...new Set(names)].sort();
    },

    /**
     * Runs the host-level degraded-mode detector against the primary backend's readiness URL
     * (both-down: central logging is down); undefined when logPipeline.hostDetector is not set.
     * The webhook URL is read here, on the worker; the result carries none of it.
     */
    async hostDetectorFindings(): Promise<HostDetectorResult | undefined> {
      const lp = pipelineOf(config);
      if (!lp.hostDetector) return undefined;
      return runHostDetector({
        script: lp.hostDetector.script,
        logReadyUrl: clientFor(lp.primary).readyUrl,
        emergencyWebhookUrl: readSecret(lp.hostDetector.emergencyWebhook, 'logPipeline.hostDetector.emergencyWebhook'),
        field: 'logPipeline.hostDetector.script',
      });
    },
  };
}
