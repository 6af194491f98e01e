/**
 * `npm run demo -- --drill log-failover`: the log-pipeline failover drill on the embedded
 * local stack: Temporal dev server + Web UI, two VictoriaLogs backends (process components the
 * drill stops and starts through the platform adapter), vlagent dual-shipping the canary file,
 * and an in-process worker. Prints the report's counts, failover delay and catch-up time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { NativeConnection } from '@temporalio/worker';
import { parseConfig } from '../lib/config/load';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { victoriaLogsComponent, victoriaLogsSpec } from '../dev-stack/victorialogs';
import { startVlagent } from '../dev-stack/vlagent';
import { platformFor } from '../lib/platform';
import { logFailover } from '../procedures/log-failover';
import { createWorker } from '../workers/worker';
import { runProcedureCommand } from './commands/run-procedure';

export async function logFailoverDemo(dir: string, step: (s: string) => void, keepRunning: boolean): Promise<number> {
  const creds = join(dir, 'credentials');
  mkdirSync(creds, { recursive: true, mode: 0o700 });
  const codecKey = join(creds, 'codec.key');
  writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });

  step('starting Temporal dev server with Web UI, two VictoriaLogs backends and vlagent shipping to both');
  const temporal = await startTemporalDevServer({ dir: join(dir, 'temporal'), ui: true });
  const [p, s] = await Promise.all([victoriaLogsSpec(dir, 'logs-primary'), victoriaLogsSpec(dir, 'logs-secondary')]);
  const canaryFile = join(dir, 'canary.log');
  const rawConfig = {
    temporal: { taskQueue: 'secdr-demo' },
    clusters: [{ name: 'demo', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_DEMO_UNUSED' } } }],
    storage: [{ name: 'local', type: 'local', dir: join(dir, 'snapshots') }],
    components: [victoriaLogsComponent(p), victoriaLogsComponent(s)],
    logPipeline: {
      primary: { type: 'victorialogs', url: p.url, component: p.name },
      secondary: { type: 'victorialogs', url: s.url, component: s.name },
      canary: { file: canaryFile },
      outageWindowSeconds: 30,
    },
    reportsDir: join(dir, 'reports'),
    metrics: { port: 0 },
    codec: { keyId: 'demo-1', key: { file: codecKey } },
  };
  const configFile = join(dir, 'secdr.yaml');
  writeFileSync(configFile, stringify(rawConfig));
  const config = parseConfig(rawConfig, configFile);
  const backends = config.components.map((c) => platformFor(c));
  try {
    await Promise.all(backends.map((b) => b.start()));
    const vlagent = await startVlagent({ dir, tailFile: canaryFile, backends: [p.url, s.url] });
    step(`backends: primary ${p.url}, secondary ${s.url}; vlagent ${vlagent.url} tails ${canaryFile}`);

    process.env.TEMPORAL_ADDRESS = temporal.address;
    const connection = await NativeConnection.connect({ address: temporal.address });
    const worker = await createWorker({ config, connection, namespace: 'default' });
    const running = worker.run();

    step('drill: steady state → stop the primary → 30 s of numbered canaries (the secondary must show them within 30 s) → restart → the primary catches up');
    const code = await runProcedureCommand(config, logFailover, { variant: 'primary-down' }, { wait: true });
    step('done');
    console.log(`  reports:         ${config.reportsDir}`);
    console.log(`  Temporal Web UI: ${temporal.uiUrl}`);
    if (keepRunning && code === 0) {
      console.log('\nThe stack stays up so you can look around; press Ctrl-C to stop it.');
      await new Promise(() => undefined);
    }
    worker.shutdown();
    await running;
    await connection.close();
    return code;
  } finally {
    // The backends run under the platform adapter (pid files), not the demo's supervisor.
    await Promise.all(backends.map((b) => b.stop()));
  }
}
