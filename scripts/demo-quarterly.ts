/**
 * `npm run demo -- --drill quarterly`: the quarterly drill over vault-restore, log-failover,
 * ca-outage and alerting on the local stack the full quarterly e2e runs (dev-stack/drill-stack.ts):
 * Temporal dev server, moto (S3 + KMS), PostgreSQL, OpenBao source + a fresh DR target, VictoriaLogs
 * ×2 + vlagent, OpenBao PKI + a TLS endpoint, Alertmanager with the deployed routing tree and
 * recording receivers, Prometheus with deploy/prometheus/rules scraping this worker and vlagent.
 * Takes a snapshot, runs the drill, prints each drill's outcome and time, the whole wall time, the
 * drill freshness gauges Prometheus now sees, and the HTML and JUnit reports.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/load';
import { startMetricsServer } from '../lib/metrics-server';
import { evidenceId, listEvidence, loadEvidence } from '../lib/reports/evidence';
import type { ProcedureReport } from '../lib/reports/types';
import { startDrillStack, type DrillStack } from '../dev-stack/drill-stack';
import { promQuery } from '../dev-stack/prometheus';
import { waitFor } from '../dev-stack/wait';
import { quarterly } from '../procedures/quarterly';
import type { QuarterlyDrillDetails } from '../workflows/quarterly-drill';
import { snapshotCommand } from './commands/procedures';
import { quarterlyCommand } from './commands/quarterly-drill';
import { withDemoWorker } from './demo-worker';

/** Seconds from a drill's first step to its last: the merged report names each step `<drill>: <step>`. */
function drillSeconds(report: ProcedureReport, drill: string): number | undefined {
  const steps = report.steps.filter((s) => s.name.startsWith(`${drill}: `) && s.endedAt);
  if (!steps.length) return undefined;
  const start = Math.min(...steps.map((s) => Date.parse(s.startedAt)));
  const end = Math.max(...steps.map((s) => Date.parse(s.endedAt!)));
  return (end - start) / 1000;
}

export async function quarterlyDemo(dir: string, step: (s: string) => void, keepRunning: boolean): Promise<number> {
  step('starting the local stack: Temporal, moto (S3 + KMS), PostgreSQL, OpenBao source + DR target, VictoriaLogs ×2 + vlagent, OpenBao PKI + TLS endpoint, Alertmanager + recording receivers');
  let stack: DrillStack | undefined;
  const metrics = await startMetricsServer('127.0.0.1', 0);
  try {
    stack = await startDrillStack({ dir, targets: 1, taskQueue: 'secdr-demo' });
    const prometheus = await stack.startPrometheus([`127.0.0.1:${metrics.port}`]);
    const raw = { ...stack.raw, restore: { ...(stack.raw.restore as object), testTarget: 'dr-1' } };
    const configFile = join(dir, 'secdr.yaml');
    writeFileSync(configFile, stringify(raw));
    const config = parseConfig(raw, configFile);
    step(`Prometheus ${prometheus.url} (rules: deploy/prometheus/rules), Alertmanager ${stack.alertmanager.url}, CA ${stack.ca.address}, TLS endpoint ${stack.endpoint.address}`);

    return await withDemoWorker(config, stack.dr.temporal, keepRunning, async () => {
      step('snapshot of the source OpenBao: the vault-restore drill restores the newest verified one');
      const snap = await snapshotCommand(config, 'src', { wait: true });
      if (snap !== 0) return snap;

      step('quarterly drill: vault-restore → log-failover → ca-outage → alerting, each a child workflow');
      const junit = join(dir, 'quarterly.junit.xml');
      const started = Date.now();
      const code = await quarterlyCommand(config, quarterly, { noApproval: true }, { wait: true, junit });
      const wall = (Date.now() - started) / 1000;
      step('done');
      const [newest] = await listEvidence(config.storage);
      const stored = newest && (await loadEvidence(config.storage, newest.workflowId));
      if (stored) {
        const d = stored.report.details as unknown as QuarterlyDrillDetails;
        console.log(`  quarterly drill: ${stored.report.outcome} (exit ${code}), wall time ${wall.toFixed(1)} s`);
        for (const x of d.drills ?? []) console.log(`    ${x.drill.padEnd(14)} ${x.outcome.padEnd(10)} ${drillSeconds(stored.report, x.drill)?.toFixed(1) ?? '—'} s${x.slosBreached ? `, ${x.slosBreached} SLO breached` : ''}`);
        const base = join(config.reportsDir, evidenceId(newest.workflowId));
        console.log(`  HTML report:  ${base}.html (stored with the snapshots: ${newest.files.html.path}, sha256 ${newest.files.html.sha256.slice(0, 12)}…)`);
        console.log(`  JUnit:        ${junit}`);
      } else {
        console.log(`  quarterly drill: no evidence stored (exit ${code}), wall time ${wall.toFixed(1)} s`);
      }
      // The worker set each passing drill's freshness gauge: what SecdrDrillOverdue watches.
      const fresh = await waitFor(
        'Prometheus to scrape the drill freshness gauges',
        async () => {
          // The quarterly gauge is set last, in the parent's epilogue: once a scrape has it, it has the children's too.
          const s = await promQuery(prometheus.url, 'secdr_drill_last_success_timestamp_seconds{job="secdr-worker"} > 0');
          return s.some((x) => x.metric.drill === 'quarterly') || code !== 0 ? s : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 500 },
      ).catch(() => []);
      console.log(`  drill freshness in Prometheus: ${fresh.map((s) => `${s.metric.drill} ${new Date(Number(s.value[1]) * 1000).toISOString()}`).join(', ') || 'none set'}`);
      console.log(`  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test TEMPORAL_ADDRESS=${stack!.dr.temporal.address} npm run secdr -- --config ${configFile} drill list`);
      return code;
    });
  } finally {
    await stack?.stop();
    await metrics.close();
  }
}
