/**
 * Records one workflow history per procedure from real runs on a Temporal dev server into
 * test/fixtures/histories/<procedure>.json, for the replay test (test/replay/replay.test.ts):
 * a workflow change that would break running workflows (non-determinism) then fails a test.
 *
 *   npx tsx scripts/record-histories.ts            # all procedures recorded here
 *   npx tsx scripts/record-histories.ts vault-restore
 *
 * Real servers: the dev server, OpenBao (source + a fresh static-seal DR target), PostgreSQL
 * (the restore's database check), local snapshot storage; the worker is the production one
 * with its host queue, as `secdr worker` runs it. Re-record after changing a workflow on
 * purpose (and say why in the commit); never to make a failing replay pass unexplained.
 *
 * The histories are kept as the server stores them: every payload encrypted by the secdr
 * codec, here with the fixed, public fixture key below (test data only, nothing secret in
 * it). Replaying them with the same data converter also proves the codec still decodes
 * the history of running workflows.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { parseConfig } from '../lib/config/load';
import type { SecdrConfig } from '../lib/config/schema';
import { startOpenBao, writeStaticSealKey } from '../dev-stack/openbao';
import { initNode } from '../dev-stack/openbao-setup';
import { startPostgres } from '../dev-stack/postgres';
import { stopAll, stopAllOnExit } from '../dev-stack/supervisor';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { seedSourceCluster } from '../dev-stack/vault-seed';
import { waitFor } from '../dev-stack/wait';
import { AesGcmCodec } from '../lib/temporal/codec';
import { newHostTaskQueue, setHostTaskQueue } from '../lib/temporal/host-queue';
import { vaultRestore } from '../procedures/vault-restore';
import { vaultSnapshot } from '../procedures/vault-snapshot';
import { createHostWorker, createWorker } from '../workers/worker';
import { deadMansSwitchWorkflow, heartbeatSignal } from '../workflows/dead-mans-switch';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../workflows';

export const HISTORY_DIR = resolve(__dirname, '..', 'test', 'fixtures', 'histories');

/** The fixtures' codec key: public on purpose (test data only). */
export const FIXTURE_CODEC = { keyId: 'replay-fixtures', key: Buffer.alloc(32, 0x5e) };

/** The data converter the fixtures were recorded with: the secdr codec and failure converter, fixture key. */
export function fixtureDataConverter(): DataConverter {
  return {
    payloadCodecs: [new AesGcmCodec(new Map([[FIXTURE_CODEC.keyId, FIXTURE_CODEC.key]]), FIXTURE_CODEC.keyId)],
    failureConverterPath: require.resolve('../lib/temporal/failure-converter'),
  };
}

const History = temporal.api.history.v1.History;

/**
 * History as plain JSON (enum names, base64 bytes, string int64s) through the proto module's
 * own converter. Not the SDK's historyToJSON: in this install it meets a second protobufjs
 * copy and throws "type must be a Type".
 */
export function historyToFixture(history: temporal.api.history.v1.IHistory): string {
  return `${JSON.stringify(History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }), null, 1)}\n`;
}

export function historyFromFixture(text: string): temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(text));
}

/** What each procedure's recording needs: a finished run (or, for the endless switch, a run that did its work). */
const recorders: Record<string, (ctx: Ctx) => Promise<WorkflowHandle>> = {
  'vault-snapshot': async ({ client, config, taskQueue }) => {
    const h = await client.workflow.start(vaultSnapshotWorkflow, { taskQueue, workflowId: 'record-vault-snapshot', args: [vaultSnapshot.input(config, {})] });
    await h.result();
    return h;
  },
  'vault-restore': async ({ client, config, taskQueue }) => {
    const h = await client.workflow.start(vaultRestoreWorkflow, { taskQueue, workflowId: 'record-vault-restore', args: [{ ...vaultRestore.input(config, { target: 'dr' }), pollSeconds: 1 }] });
    await h.result();
    return h;
  },
  // Runs forever: heartbeats, a silence that pages, a heartbeat that resolves; then recorded and terminated.
  'dead-mans-switch': async ({ client, taskQueue, pages }) => {
    const h = await client.workflow.start(deadMansSwitchWorkflow, { taskQueue, workflowId: 'record-dead-mans-switch', args: [{ windowSeconds: 3, retryPageSeconds: 1 }] });
    await h.signal(heartbeatSignal, { receivedAt: new Date().toISOString(), status: 'firing' });
    await waitFor('the firing page', async () => pages.length >= 1, { timeoutMs: 60_000, intervalMs: 200 });
    await h.signal(heartbeatSignal, { receivedAt: new Date().toISOString(), status: 'firing' });
    await waitFor('the resolved page', async () => pages.length >= 2, { timeoutMs: 60_000, intervalMs: 200 });
    return h;
  },
};

interface Ctx {
  client: Client;
  config: SecdrConfig;
  taskQueue: string;
  pages: unknown[];
}

async function main(wanted: string[]): Promise<void> {
  const names = wanted.length ? wanted : Object.keys(recorders);
  const unknown = names.filter((n) => !recorders[n]);
  if (unknown.length) throw new Error(`no recorder for ${unknown.join(', ')}; recordable: ${Object.keys(recorders).join(', ')}`);
  stopAllOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'secdr-record-'));
  // PostgreSQL runs as its own user when this runs as root: it must be able to traverse here.
  chmodSync(dir, 0o755);
  let worker: Worker | undefined;
  let hostWorker: Worker | undefined;
  let running: Promise<unknown> | undefined;
  let nativeConnection: NativeConnection | undefined;
  let client: Client | undefined;
  const pages: unknown[] = [];
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      pages.push(body);
      res.writeHead(200).end('ok');
    });
  });
  try {
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkPort = (sink.address() as { port: number }).port;
    const sealKey = writeStaticSealKey(join(dir, 'static.key'));
    const [temporal, pg, source, dr] = await Promise.all([
      startTemporalDevServer({ dir: join(dir, 'temporal') }),
      startPostgres(join(dir, 'pg')),
      startOpenBao({ dir: join(dir, 'bao'), nodeId: 'source', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: join(dir, 'bao'), nodeId: 'dr', staticSealKeyFile: sealKey }),
    ]);
    const init = await initNode(source.address, 'auto');
    mkdirSync(join(dir, 'creds'));
    const seeded = await seedSourceCluster({ address: source.address, rootToken: init.rootToken, credsDir: join(dir, 'creds'), postgres: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password } });
    writeFileSync(join(dir, 'creds', 'codec.key'), FIXTURE_CODEC.key.toString('base64'), { mode: 0o600 });
    writeFileSync(join(dir, 'creds', 'emergency-url'), `http://127.0.0.1:${sinkPort}/emergency`, { mode: 0o600 });
    const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });
    const taskQueue = 'record-histories';
    const config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(seeded.snapshot), stagingDir: join(dir, 'staging'), localRetentionDays: 0 }],
        storage: [{ name: 'local', type: 'local', dir: join(dir, 'store') }],
        restore: {
          targets: [{ name: 'dr', address: dr.address, seal: 'auto', verifier: approle(seeded.verifier), database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' } }],
        },
        deadMansSwitch: { windowSeconds: 3, emergencyWebhook: { url: { file: join(dir, 'creds', 'emergency-url') } } },
        reportsDir: join(dir, 'reports'),
        codec: { keyId: FIXTURE_CODEC.keyId, key: { file: join(dir, 'creds', 'codec.key') } },
      },
      'record-histories config',
    );
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const hostQueue = newHostTaskQueue(taskQueue);
    setHostTaskQueue(hostQueue);
    worker = await createWorker({ config, connection: nativeConnection, namespace: 'default' });
    hostWorker = await createHostWorker({ config, connection: nativeConnection, namespace: 'default', hostTaskQueue: hostQueue });
    running = Promise.all([worker.run(), hostWorker.run()]);
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: fixtureDataConverter() });
    mkdirSync(HISTORY_DIR, { recursive: true });
    for (const name of names) {
      const handle = await recorders[name]({ client, config, taskQueue, pages });
      const history = await handle.fetchHistory();
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING') await handle.terminate('recorded');
      const file = join(HISTORY_DIR, `${name}.json`);
      writeFileSync(file, historyToFixture(history));
      console.log(`recorded ${name}: ${history.events?.length} events -> ${file}`);
    }
  } finally {
    worker?.shutdown();
    hostWorker?.shutdown();
    await running?.catch(() => undefined);
    await nativeConnection?.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    sink.close();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
