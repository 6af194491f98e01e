/**
 * `npm run demo -- --drill log-failover`: the log-pipeline failover drill on the embedded
 * local stack: Temporal dev server + Web UI, two VictoriaLogs backends (process components the
 * drill stops and starts through the platform adapter), vlagent dual-shipping the canary file,
 * and an in-process worker. Prints the report's counts, failover delay and catch-up time.
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
import { demoBaseConfig, withDemoWorker } from './demo-worker';

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
      console.log(`  reports:         ${config.reportsDir}`);
      return code;
    });
  } finally {
    // The backends run under the platform adapter (pid files), not the demo's supervisor.
    await Promise.all(backends.map((b) => b.stop()));
  }
}
