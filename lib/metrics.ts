import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

export const procedureFailures = new Gauge({
  name: 'secdr_procedure_last_failure_timestamp_seconds',
  help: 'Unix time of the last failed run, per procedure and cluster',
  labelNames: ['procedure', 'cluster'],
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
