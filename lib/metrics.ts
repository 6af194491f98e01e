import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * secdr's own Prometheus metrics, served by the worker. The freshness alerts in
 * deploy/prometheus/rules use exactly these names.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'secdr_worker_' });

export const snapshotLastSuccess = new Gauge({
  name: 'secdr_snapshot_last_success_timestamp_seconds',
  help: 'Unix time of the newest verified, uploaded snapshot per cluster',
  labelNames: ['cluster'],
  registers: [registry],
});

export const restoreLastVerified = new Gauge({
  name: 'secdr_restore_last_verified_timestamp_seconds',
  help: 'Unix time of the last restore whose secrets read back, per cluster',
  labelNames: ['cluster'],
  registers: [registry],
});

export const drillLastSuccess = new Gauge({
  name: 'secdr_drill_last_success_timestamp_seconds',
  help: 'Unix time of the last successful drill, per drill',
  labelNames: ['drill'],
  registers: [registry],
});

export const sloMeasured = new Gauge({
  name: 'secdr_slo_measured_seconds',
  help: 'Last measured value of each SLO, per procedure and cluster',
  labelNames: ['procedure', 'cluster', 'slo'],
  registers: [registry],
});

export const sloLimit = new Gauge({
  name: 'secdr_slo_limit_seconds',
  help: 'Configured limit of each SLO, per procedure and cluster',
  labelNames: ['procedure', 'cluster', 'slo'],
  registers: [registry],
});

export const procedureRuns = new Counter({
  name: 'secdr_procedure_runs_total',
  help: 'Finished runs per procedure and outcome (succeeded, verified, failed, cancelled)',
  labelNames: ['procedure', 'outcome'],
  registers: [registry],
});

export const procedureLastOutcome = new Gauge({
  name: 'secdr_procedure_last_outcome_timestamp_seconds',
  help: 'Unix time of the last success and of the last failure, per procedure and cluster',
  labelNames: ['procedure', 'cluster', 'outcome'],
  registers: [registry],
});

/**
 * Raises the freshness gauge the alert rules watch for a procedure: snapshots and restores per
 * cluster, every other procedure (the drills) per drill name. Never lowers it.
 */
export async function procedureFreshnessGauge(procedure: string, cluster: string | undefined, atSeconds: number): Promise<void> {
  const [gauge, labels]: [Gauge, Record<string, string>] =
    procedure === 'vault-snapshot'
      ? [snapshotLastSuccess, { cluster: cluster ?? '' }]
      : procedure === 'vault-restore'
        ? [restoreLastVerified, { cluster: cluster ?? '' }]
        : [drillLastSuccess, { drill: procedure }];
  const { values } = await gauge.get();
  const current = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
  if (current === undefined || current < atSeconds) gauge.set(labels, atSeconds);
}
