/**
 * Records one workflow history per procedure from real runs on a Temporal dev server into
 * test/fixtures/histories/<procedure>[-v<shape>].json (FIXTURE_SHAPE below), for the replay test (test/replay/replay.test.ts):
 * a workflow change that would break running workflows (non-determinism) then fails a test.
 *
 *   npx tsx scripts/record-histories.ts            # all procedures recorded here
 *   npx tsx scripts/record-histories.ts vault-restore
 *   npx tsx scripts/record-histories.ts quarterly log-failover ca-outage alerting   # one quarterly run
 *
 * Real servers: the dev server, OpenBao (source + a fresh static-seal DR target), PostgreSQL
 * (the restore's database check), local snapshot storage; for the drills, the whole drill
 * stack (moto, VictoriaLogs ×2 + vlagent, OpenBao PKI + a TLS endpoint, Alertmanager with
 * recording receivers). The worker is the production one with its host queue, as `secdr
 * worker` runs it. Re-record after changing a workflow on
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
import { NativeConnection } from '@temporalio/worker';
import { parseConfig } from '../lib/config/load';
import type { SecdrConfig } from '../lib/config/schema';
import { startDrillStack, type DrillStack } from '../dev-stack/drill-stack';
import { startOpenBao, writeStaticSealKey } from '../dev-stack/openbao';
import { initNode } from '../dev-stack/openbao-setup';
import { startPostgres } from '../dev-stack/postgres';
import { stopAll, stopAllOnExit } from '../dev-stack/supervisor';
import { startTemporalDevServer } from '../dev-stack/temporal';
import { seedSourceCluster } from '../dev-stack/vault-seed';
import { waitFor } from '../dev-stack/wait';
import { FailureType, TypedError } from '../lib/failure-types';
import { AesGcmCodec } from '../lib/temporal/codec';
import { registry } from '../procedures';
import { quarterly } from '../procedures/quarterly';
import { vaultRestore } from '../procedures/vault-restore';
import { vaultSnapshot } from '../procedures/vault-snapshot';
import { createHostWorkers } from '../workers/worker';
import { deadMansSwitchWorkflow, heartbeatSignal } from '../workflows/dead-mans-switch';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../workflows';

export const HISTORY_DIR = resolve(__dirname, '..', 'test', 'fixtures', 'histories');

/**
 * The workflow shape recordings are made in now. A change guarded with `patched()` bumps it, so
 * the new recordings land beside the old ones (`<procedure>-v<N>.json`; shape 1 is plain
 * `<procedure>.json`) and the replay test keeps replaying the histories of runs started before
 * the change. Shape 2: the frame's memo (`patched('frame-memo')`).
 */
export const FIXTURE_SHAPE = 2;

/** The fixture file for a procedure's recording in a shape. */
export function fixtureFile(name: string, shape = FIXTURE_SHAPE): string {
  return shape === 1 ? `${name}.json` : `${name}-v${shape}.json`;
}

/** What a fixture file holds: the procedure, the shape, and the workflow id it was recorded under. */
export function fixtureOf(file: string): { name: string; shape: number; workflowId: string } {
  const m = /^(.+?)(?:-v(\d+))?\.json$/.exec(file);
  if (!m) throw new TypedError(FailureType.InvalidInput, `${file} is not a history fixture name (<procedure>.json or <procedure>-v<N>.json)`);
  return { name: m[1], shape: m[2] ? Number(m[2]) : 1, workflowId: `record-${m[1]}` };
}

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

/** The production worker and its host-queue worker, as `secdr worker` runs them, in this process. */
async function startWorkers(address: string, config: SecdrConfig, taskQueue: string): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address });
  const { worker, hostWorker } = await createHostWorkers({ config, connection, namespace: 'default', taskQueue });
  const workers = [worker, hostWorker];
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    stop: async () => {
      for (const w of workers) w.shutdown();
      await running.catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

function saveHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  mkdirSync(HISTORY_DIR, { recursive: true });
  const file = join(HISTORY_DIR, fixtureFile(name));
  writeFileSync(file, historyToFixture(history));
  console.log(`recorded ${name}: ${history.events?.length} events -> ${file}`);
}

/**
 * The drills' histories come from one passing quarterly drill on the drill stack (every server
 * the drills need, dev-stack/drill-stack.ts): the parent's history, and each child drill's.
 * vault-restore keeps its own stand-alone recording.
 */
const DRILL_HISTORIES = ['quarterly', 'log-failover', 'ca-outage', 'alerting'];

async function recordDrills(wanted: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'secdr-record-drills-'));
  // PostgreSQL runs as its own user when this runs as root: it must be able to traverse here.
  chmodSync(dir, 0o755);
  const taskQueue = 'record-drill-histories';
  let stack: DrillStack | undefined;
  let workers: { stop(): Promise<void> } | undefined;
  let client: Client | undefined;
  try {
    stack = await startDrillStack({ dir, targets: 1, taskQueue });
    const keyFile = join(dir, 'fixture-codec.key');
    writeFileSync(keyFile, FIXTURE_CODEC.key.toString('base64'), { mode: 0o600 });
    const config = parseConfig(
      { ...stack.raw, codec: { keyId: FIXTURE_CODEC.keyId, key: { file: keyFile } }, restore: { ...(stack.raw.restore as object), testTarget: 'dr-1' } },
      'record-histories drill config',
    );
    workers = await startWorkers(stack.dr.temporal.address, config, taskQueue);
    client = new Client({ connection: await Connection.connect({ address: stack.dr.temporal.address }), dataConverter: fixtureDataConverter() });
    // The restore drill needs a snapshot to restore.
    await client.workflow.execute(vaultSnapshotWorkflow, { taskQueue, workflowId: 'record-drills-snapshot', args: [vaultSnapshot.input(config, {})] });
    const parent = await client.workflow.start(quarterly.workflowType, { taskQueue, workflowId: 'record-quarterly', args: [quarterly.input(config, { noApproval: true })] });
    const report = (await parent.result()) as { outcome: string };
    if (report.outcome !== 'succeeded') throw new Error(`the quarterly drill ended ${report.outcome}: record a passing run (its report: ${JSON.stringify(report).slice(0, 400)})`);
    const history = await parent.fetchHistory();
    if (wanted.includes('quarterly')) saveHistory('quarterly', history);
    for (const e of history.events ?? []) {
      const started = e.childWorkflowExecutionStartedEventAttributes;
      const name = registry.find((p) => p.workflowType === started?.workflowType?.name)?.name;
      if (!started?.workflowExecution?.workflowId || !name || !wanted.includes(name)) continue;
      saveHistory(name, await client.workflow.getHandle(started.workflowExecution.workflowId).fetchHistory());
    }
  } finally {
    await workers?.stop();
    await client?.connection.close().catch(() => undefined);
    await stack?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(wanted: string[]): Promise<void> {
  const recordable = [...Object.keys(recorders), ...DRILL_HISTORIES];
  const all = wanted.length ? wanted : recordable;
  const unknown = all.filter((n) => !recordable.includes(n));
  if (unknown.length) throw new Error(`no recorder for ${unknown.join(', ')}; recordable: ${recordable.join(', ')}`);
  stopAllOnExit();
  const drills = all.filter((n) => DRILL_HISTORIES.includes(n));
  const names = all.filter((n) => recorders[n]);
  if (drills.length) await recordDrills(drills);
  if (!names.length) return;
  const dir = mkdtempSync(join(tmpdir(), 'secdr-record-'));
  // PostgreSQL runs as its own user when this runs as root: it must be able to traverse here.
  chmodSync(dir, 0o755);
  let workers: { stop(): Promise<void> } | undefined;
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
          targets: [{ name: 'dr', address: dr.address, seal: 'auto', verifier: approle(seeded.verifier), after: 'keep', database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' } }],
        },
        deadMansSwitch: { windowSeconds: 3, emergencyWebhook: { url: { file: join(dir, 'creds', 'emergency-url') } } },
        reportsDir: join(dir, 'reports'),
        codec: { keyId: FIXTURE_CODEC.keyId, key: { file: join(dir, 'creds', 'codec.key') } },
      },
      'record-histories config',
    );
    workers = await startWorkers(temporal.address, config, taskQueue);
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: fixtureDataConverter() });
    for (const name of names) {
      const handle = await recorders[name]({ client, config, taskQueue, pages });
      const history = await handle.fetchHistory();
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING') await handle.terminate('recorded');
      saveHistory(name, history);
    }
  } finally {
    await workers?.stop();
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
