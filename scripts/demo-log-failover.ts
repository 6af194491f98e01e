/**
 * `npm run demo -- --drill log-failover`: the log-pipeline failover drill on the embedded
 * local stack: Temporal dev server + Web UI, two VictoriaLogs backends (process components the
 * drill stops and starts through the platform adapter), vlagent dual-shipping the canary file,
 * and an in-process worker. Prints the outcome, the canary counts per backend, the failover delay,
 * the catch-up time and where the report is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/load';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { victoriaLogsComponent, victoriaLogsSpec } from '../dev-stack/victorialogs';
import { startVlagent } from '../dev-stack/vlagent';
import { platformFor } from '../lib/platform';
import { logFailover } from '../procedures/log-failover';
import { runProcedureCommand } from './commands/run-procedure';
import type { LogFailoverReport } from '../workflows/log-failover';
import { demoBaseConfig, newestReport, withDemoWorker } from './demo-worker';

export async function logFailoverDemo(dir: string, step: (s: string) => void, keepRunning: boolean): Promise<number> {
  step('starting Temporal dev server with Web UI, two VictoriaLogs backends and vlagent shipping to both');
  const temporal = await startTemporalDevServer({ dir: join(dir, 'temporal'), ui: true });
  const [p, s] = await Promise.all([victoriaLogsSpec(dir, 'logs-primary'), victoriaLogsSpec(dir, 'logs-secondary')]);
  const canaryFile = join(dir, 'canary.log');
  const rawConfig = {
    ...demoBaseConfig(dir),
    components: [victoriaLogsComponent(p), victoriaLogsComponent(s)],
    logPipeline: {
      primary: { type: 'victorialogs', url: p.url, component: p.name },
      secondary: { type: 'victorialogs', url: s.url, component: s.name },
      canary: { file: canaryFile },
      outageWindowSeconds: 30,
    },
  };
  const configFile = join(dir, 'secdr.yaml');
  writeFileSync(configFile, stringify(rawConfig));
  const config = parseConfig(rawConfig, configFile);
  const backends = config.components.map((c) => platformFor(c));
  try {
    await Promise.all(backends.map((b) => b.start()));
    const vlagent = await startVlagent({ dir, tailFile: canaryFile, backends: [p.url, s.url] });
    step(`backends: primary ${p.url}, secondary ${s.url}; vlagent ${vlagent.url} tails ${canaryFile}`);

    return await withDemoWorker(config, temporal, keepRunning, async () => {
      step('drill: steady state → stop the primary → 30 s of numbered canaries (the secondary must show them within 30 s) → restart → the primary catches up');
      const code = await runProcedureCommand(config, logFailover, { variant: 'primary-down' }, { wait: true });
      step('done');
      const r = newestReport<LogFailoverReport>(config.reportsDir, 'log-failover');
      console.log(`  log-failover drill: ${r?.outcome ?? 'no report written'} (exit ${code})`);
      const d = r?.details;
      if (d?.canaries) {
        const c = d.canaries;
        console.log(`  canaries: ${c.sent} sent; primary ${c.primary.received} received (${c.primary.missing.length} missing), secondary ${c.secondary.received} received (${c.secondary.missing.length} missing)`);
      }
      if (d?.failoverDelaySeconds !== undefined) console.log(`  failover: first outage canary in the secondary ${d.failoverDelaySeconds} s after the stop (SLO ${config.logPipeline!.sloSeconds} s)`);
      if (d?.catchUpSeconds !== undefined) console.log(`  catch-up: every outage canary in the primary ${d.catchUpSeconds} s after it was ready`);
      console.log(`  report: ${r?.reportFiles?.markdown ?? config.reportsDir}`);
      console.log(`  TEMPORAL_ADDRESS=${temporal.address} npm run secdr -- --config ${configFile} drill log-failover --wait`);
      return code;
    });
  } finally {
    // The backends run under the platform adapter (pid files), not the demo's supervisor.
    await Promise.all(backends.map((b) => b.stop()));
  }
}
