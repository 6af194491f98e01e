import { drillLastSuccess, procedureFailures, restoreLastVerified, sloLimit, sloMeasured, snapshotLastSuccess } from '../lib/metrics';

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** Records procedure outcomes in the worker's metrics registry (scraped by Prometheus). */
export function createMetricsActivities() {
  return {
    async recordSnapshotSuccess(input: { cluster: string; at: string }): Promise<void> {
      snapshotLastSuccess.set({ cluster: input.cluster }, seconds(input.at));
    },
    async recordRestoreVerified(input: { cluster: string; at: string; slos?: { slo: string; limitSeconds: number; measuredSeconds?: number }[] }): Promise<void> {
      restoreLastVerified.set({ cluster: input.cluster }, seconds(input.at));
      for (const s of input.slos ?? []) {
        sloLimit.set({ procedure: 'vault-restore', cluster: input.cluster, slo: s.slo }, s.limitSeconds);
        if (s.measuredSeconds !== undefined) sloMeasured.set({ procedure: 'vault-restore', cluster: input.cluster, slo: s.slo }, s.measuredSeconds);
      }
    },
    async recordDrillSuccess(input: { drill: string; at: string }): Promise<void> {
      drillLastSuccess.set({ drill: input.drill }, seconds(input.at));
    },
    async recordFailure(input: { procedure: string; cluster: string; workflowId: string }): Promise<void> {
      procedureFailures.set({ procedure: input.procedure, cluster: input.cluster }, Date.now() / 1000);
    },
  };
}
