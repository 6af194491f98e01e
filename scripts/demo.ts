#!/usr/bin/env tsx
/**
 * `npm run demo`: the whole Vault backup-and-restore procedure on the embedded
 * local stack, no cloud account: Temporal dev server + Web UI, a source OpenBao
 * with data (kv secrets, AppRoles, a PostgreSQL database secrets engine and the
 * canary), an empty DR OpenBao, local snapshot storage. It takes a verified
 * snapshot, restores it into the DR node and verifies it, then prints the report
 * path, the measured times and the UI address.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { PayloadCodec } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { parseConfig } from '../lib/config/load';
import { startOpenBao, writeStaticSealKey } from '../dev-stack/openbao';
import { initNode } from '../dev-stack/openbao-setup';
import { startPostgres } from '../dev-stack/postgres';
import { freePort } from '../dev-stack/ports';
import { stopAll, stopAllOnExit } from '../dev-stack/supervisor';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { seedSourceCluster } from '../dev-stack/vault-seed';
import { startCodecServer } from '../lib/temporal/codec-server';
import { dataConverterFor } from '../lib/temporal/connect';
import { createWorker } from '../workers/worker';
import { restoreCommand, snapshotCommand } from './commands/procedures';

const keepRunning = process.stdout.isTTY && !process.env.CI && !process.argv.includes('--exit');
/** Where each demo keeps its servers' data, fresh per run; SECDR_DEMO_DIR lets a test keep it out of the checkout. */
const demoRoot = resolve(process.env.SECDR_DEMO_DIR ?? '.secdr');

type DrillDemo = (dir: string, step: (s: string) => void, keepRunning: boolean) => Promise<number>;
/** `--drill NAME`: each drill demo loads only its own modules. */
const DRILL_DEMOS: Record<string, () => Promise<DrillDemo>> = {
  'log-failover': async () => (await import('./demo-log-failover')).logFailoverDemo,
  'ca-outage': async () => (await import('./demo-ca-outage')).caOutageDemo,
  quarterly: async () => (await import('./demo-quarterly')).quarterlyDemo,
};

async function main(): Promise<number> {
  stopAllOnExit();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const t0 = Date.now();
  const step = (s: string) => console.log(`\n[demo +${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`);
  const drill = process.argv.indexOf('--drill');
  if (drill >= 0) {
    const name = process.argv[drill + 1] ?? '';
    const run = Object.hasOwn(DRILL_DEMOS, name) ? DRILL_DEMOS[name] : undefined;
    if (!run) {
      console.error(`--drill ${name}: unknown drill; the demo runs: ${Object.keys(DRILL_DEMOS).join(', ')}`);
      return 2;
    }
    const drillDir = join(demoRoot, `demo-${name}`);
    rmSync(drillDir, { recursive: true, force: true });
    mkdirSync(drillDir, { recursive: true });
    // PostgreSQL (quarterly) runs as its own user when the demo runs as root: it must traverse here.
    chmodSync(drillDir, 0o755);
    return (await run())(drillDir, step, keepRunning);
  }
  const dir = join(demoRoot, 'demo');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const creds = join(dir, 'credentials');
  mkdirSync(creds, { mode: 0o700 });

  const codecKey = join(creds, 'codec.key');
  writeFileSync(codecKey, randomBytes(32).toString('base64'), { mode: 0o600 });

  step('starting Temporal dev server with Web UI, PostgreSQL and two OpenBao nodes (source, DR)');
  const uiPort = await freePort();
  const codecPort = await freePort();
  // The UI's codec endpoint carries the token in its path: the UI cannot add a header.
  const codecToken = randomBytes(24).toString('base64url');
  const [temporal, pg] = await Promise.all([
    startTemporalDevServer({ dir: join(dir, 'temporal'), ui: true, uiPort, codecEndpoint: `http://127.0.0.1:${codecPort}/${codecToken}` }),
    startPostgres(join(dir, 'postgres')),
  ]);
  // Source and DR share the static seal key, as a DR cluster restoring an auto-unseal snapshot must.
  const sealKey = writeStaticSealKey(join(creds, 'static-seal.key'));
  const [source, dr] = await Promise.all([
    startOpenBao({ dir: join(dir, 'openbao'), nodeId: 'source-0', staticSealKeyFile: sealKey }),
    startOpenBao({ dir: join(dir, 'openbao'), nodeId: 'dr-0', staticSealKeyFile: sealKey }),
  ]);

  step(`initialising the source OpenBao (${source.address}) with data, AppRoles and a database secrets engine`);
  const { rootToken } = await initNode(source.address, 'auto');
  const seeded = await seedSourceCluster({
    address: source.address,
    rootToken,
    credsDir: creds,
    postgres: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password },
  });

  const configFile = join(dir, 'secdr.yaml');
  const rawConfig = {
    temporal: { taskQueue: 'secdr-demo' },
    clusters: [
      {
        name: 'demo',
        nodes: [source.address],
        auth: { method: 'approle', roleId: { file: seeded.snapshot.roleIdFile }, secretId: { file: seeded.snapshot.secretIdFile } },
        stagingDir: join(dir, 'staging'),
      },
    ],
    storage: [{ name: 'local', type: 'local', dir: join(dir, 'snapshots') }],
    restore: {
      targets: [
        {
          name: 'dr',
          address: dr.address,
          seal: 'auto',
          verifier: { method: 'approle', roleId: { file: seeded.verifier.roleIdFile }, secretId: { file: seeded.verifier.secretIdFile } },
          // After verification the restored copy of production is sealed again (restore.targets[].after: seal).
          restorer: { method: 'approle', roleId: { file: seeded.restorer.roleIdFile }, secretId: { file: seeded.restorer.secretIdFile } },
          database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' },
        },
      ],
    },
    reportsDir: join(dir, 'reports'),
    codec: { keyId: 'demo-1', key: { file: codecKey } },
  };
  writeFileSync(configFile, stringify(rawConfig));
  const config = parseConfig(rawConfig, configFile);
  await startCodecServer({
    codec: dataConverterFor(config).payloadCodecs![0] as PayloadCodec,
    host: '127.0.0.1',
    port: codecPort,
    token: codecToken,
    allowedOrigin: `http://127.0.0.1:${uiPort}`,
  });

  step(`starting the secdr worker (task queue ${config.temporal.taskQueue}); config: ${configFile}`);
  process.env.TEMPORAL_ADDRESS = temporal.address;
  const connection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker({ config, connection, namespace: 'default' });
  const running = worker.run();

  step('snapshot: canary → stream + verify → store with read-back → retention');
  const snapCode = await snapshotCommand(config, 'demo', { wait: true });
  if (snapCode !== 0) return snapCode;

  step(`restore: newest verified snapshot → fresh DR node ${dr.address} → verify with the verifier AppRole`);
  const restoreStart = Date.now();
  const restoreCode = await restoreCommand(config, { cluster: 'demo', target: 'dr', wait: true });
  const restoreWall = (Date.now() - restoreStart) / 1000;

  step('done');
  console.log(`  restore wall time (CLI): ${restoreWall.toFixed(1)} s`);
  console.log(`  reports:                 ${config.reportsDir}`);
  console.log(`  Temporal Web UI:         ${temporal.uiUrl} (payloads decrypted by the codec server at http://127.0.0.1:${codecPort})`);
  console.log(`  TEMPORAL_ADDRESS=${temporal.address} npm run secdr -- --config ${configFile} snapshot list`);
  if (keepRunning && restoreCode === 0) {
    console.log('\nThe stack stays up so you can look around; press Ctrl-C to stop it.');
    await new Promise(() => undefined);
  }
  worker.shutdown();
  await running;
  await connection.close();
  return restoreCode;
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
    await stopAll();
    process.exit(1);
  });
