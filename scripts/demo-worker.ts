/**
 * What every `npm run demo` drill shares: the demo config's fixed parts, an in-process secdr
 * worker for the drill's duration, the stack kept up afterwards when someone is watching, and
 * the report the drill wrote.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import type { SecdrConfig } from '../lib/config/schema';
import type { ProcedureReport } from '../lib/reports/types';
import type { TemporalDevServer } from '../dev-stack/temporal';
import { createWorker } from '../workers/worker';

/**
 * The parts of a drill demo's config that are not the drill's: task queue, a placeholder Vault
 * cluster (the schema needs one; drills other than vault-restore never call it), local storage,
 * reports, and a fresh codec key in `dir`/credentials.
 */
export function demoBaseConfig(dir: string): Record<string, unknown> {
  const creds = join(dir, 'credentials');
  mkdirSync(creds, { recursive: true, mode: 0o700 });
  const codecKey = join(creds, 'codec.key');
  writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });
  return {
    temporal: { taskQueue: 'secdr-demo' },
    clusters: [{ name: 'demo', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'SECDR_DEMO_UNUSED' } } }],
    storage: [{ name: 'local', type: 'local', dir: join(dir, 'snapshots') }],
    reportsDir: join(dir, 'reports'),
    metrics: { port: 0 },
    codec: { keyId: 'demo-1', key: { file: codecKey } },
  };
}

/**
 * Runs `body` while an in-process worker serves `config`'s task queue; afterwards, when
 * `keepRunning` and the drill passed, waits for Ctrl-C with the stack up (the caller's finally
 * stops it). Returns `body`'s exit code.
 */
export async function withDemoWorker(config: SecdrConfig, temporal: TemporalDevServer, keepRunning: boolean, body: () => Promise<number>): Promise<number> {
  process.env.TEMPORAL_ADDRESS = temporal.address;
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker({ config, connection, namespace: 'default' });
  const running = worker.run();
  try {
    const code = await body();
    if (temporal.uiUrl) console.log(`  Temporal Web UI: ${temporal.uiUrl}`);
    if (keepRunning && code === 0) {
      console.log('\nThe stack stays up so you can look around; press Ctrl-C to stop it.');
      await new Promise(() => undefined);
    }
    return code;
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}

/** The newest JSON report of `procedure` the worker wrote into `reportsDir` (the demo's directory is fresh per run). */
export function newestReport<R extends ProcedureReport = ProcedureReport>(reportsDir: string, procedure: string): R | undefined {
  let names: string[];
  try {
    names = readdirSync(reportsDir);
  } catch {
    return undefined;
  }
  const newest = names
    .filter((n) => n.startsWith(`${procedure}-`) && n.endsWith('.json'))
    .sort()
    .at(-1);
  return newest ? (JSON.parse(readFileSync(join(reportsDir, newest), 'utf8')) as R) : undefined;
}
