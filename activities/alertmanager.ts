import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';

export interface AlertInput {
  alertname: string;
  severity: 'critical' | 'warning';
  labels: Record<string, string>;
  summary: string;
  workflowId?: string;
  /** Minutes until Alertmanager resolves it unless re-posted. Default 60. */
  expiresInMinutes?: number;
}

/** Posts an alert to Alertmanager's v2 API; a no-op (false) when none is configured. */
export function createAlertActivities(config: SecdrConfig) {
  return {
    async postAlert(input: AlertInput): Promise<boolean> {
      if (!config.alertmanager) return false;
      const now = new Date();
      const body = [
        {
          labels: { alertname: input.alertname, severity: input.severity, source: 'secdr', ...input.labels },
          annotations: { summary: input.summary, ...(input.workflowId ? { workflow_id: input.workflowId } : {}) },
          startsAt: now.toISOString(),
          endsAt: new Date(now.getTime() + (input.expiresInMinutes ?? 60) * 60_000).toISOString(),
        },
      ];
      const url = `${config.alertmanager.url.replace(/\/$/, '')}/api/v2/alerts`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw fail(FailureType.AlertmanagerUnavailable, `Alertmanager ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return true;
    },
  };
}
