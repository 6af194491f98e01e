import { Runtime } from '@temporalio/worker';
import type { SecdrConfig } from '../../lib/config/schema';
import { freePort } from '../../dev-stack/ports';
import { DEFAULT_DRILLS, keepFreshnessGaugesBootstrapped } from '../../lib/metrics-bootstrap';
import { drills } from '../../procedures';
import { startMetricsServer } from '../../lib/metrics-server';
import { connectWorkerConnection } from '../../lib/temporal/connect';
import { createHostWorkers } from '../../workers/worker';

/**
 * Installs the Temporal SDK runtime with its Prometheus exporter on a private loopback port; the
 * metrics server appends what it serves to secdr's own metrics. Must run before any connection.
 */
async function installRuntimeMetrics(): Promise<string | undefined> {
  try {
    const bindAddress = `127.0.0.1:${await freePort()}`;
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
    return `http://${bindAddress}/metrics`;
  } catch (err) {
    console.warn(`Temporal SDK metrics disabled: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/**
 * `secdr worker`: serves every workflow and activity on the configured task queue until SIGINT/SIGTERM,
 * and Prometheus metrics (secdr's gauges + the Temporal SDK's) on config.metrics at /metrics.
 */
export async function workerCommand(config: SecdrConfig): Promise<void> {
  const runtimeMetricsUrl = await installRuntimeMetrics();
  // Gauges first, then the endpoint: a scrape never sees a freshness gauge at a provisional value.
  const bootstrap = keepFreshnessGaugesBootstrapped(config, { drills: [...new Set([...DEFAULT_DRILLS, ...drills().map((d) => d.name)])] });
  const first = await bootstrap.first;
  const metrics = await startMetricsServer(config.metrics.host, config.metrics.port, { runtimeMetricsUrl });
  console.log(
    `metrics on ${metrics.url}/metrics (snapshot freshness from the catalog: ${
      Object.entries(first.snapshots)
        .map(([c, t]) => `${c} ${t ? new Date(t * 1000).toISOString() : 'never'}`)
        .join(', ') || 'none'
    }${first.unknown.length ? `; unknown, retrying: ${first.unknown.join(', ')}` : ''})`,
  );
  try {
    const { connection, namespace } = await connectWorkerConnection();
    try {
      const { worker, hostWorker, hostQueue } = await createHostWorkers({ config, connection, namespace });
      console.log(`secdr worker polling task queue "${config.temporal.taskQueue}" (and "${hostQueue}" for this host's staged files) in namespace "${namespace}"`);
      // The SDK runtime shuts both workers down gracefully on SIGINT/SIGTERM.
      // One stopping (shutdown signal or a fatal error) stops the other: never half a worker.
      const stop = (w: typeof worker) => () => void (w.getState() === 'RUNNING' && w.shutdown());
      await Promise.all([worker.run().finally(stop(hostWorker)), hostWorker.run().finally(stop(worker))]);
    } finally {
      await connection.close();
    }
  } finally {
    bootstrap.stop();
    await metrics.close();
  }
}
