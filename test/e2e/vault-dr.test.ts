import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import type { RestoreReport } from '../../lib/reports/restore';
import { loadConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startOpenBao, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startPostgres, type PostgresServer } from '../../dev-stack/postgres';
import type { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import { waitFor } from '../../dev-stack/wait';
import { dataConverterFor } from '../../lib/temporal/connect';
import { vaultRestore } from '../../procedures/vault-restore';
import { applySchedules } from '../../scripts/commands/schedules';
import { unsealCommand } from '../../scripts/commands/unseal';
import { vaultRestoreWorkflow } from '../../workflows';
import { restoreStatusQuery } from '../../workflows/vault-restore';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { tempDir } from '../harness/temp';
import { spawnSecdrWorker } from '../harness/worker-process';

describe('end to end on the dev server: schedule → snapshot → restore → verified, surviving a worker crash', function () {
  this.timeout(300_000);
  const tmp = tempDir('e2e-dr');
  let temporal: TemporalDevServer;
  let pg: PostgresServer;
  let source: OpenBaoNode;
  let dr: OpenBaoNode;
  let sourceKeys: string[];
  let configFile: string;
  let config: SecdrConfig;
  let client: Client;
  const workers: ManagedProcess[] = [];

  /** The real `secdr worker` command in its own process, so it can be killed like a crashed host. */
  function startWorker(n: number): ManagedProcess {
    const w = spawnSecdrWorker({ name: String(n), configFile, temporalAddress: temporal.address, logFile: join(tmp.dir, `worker-${n}.log`) });
    workers.push(w);
    return w;
  }

  before(async () => {
    [temporal, pg] = await Promise.all([startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }), startPostgres(join(tmp.dir, 'pg'))]);
    [source, dr] = await Promise.all([
      startOpenBao({ dir: join(tmp.dir, 'bao'), nodeId: 'source' }),
      startOpenBao({ dir: join(tmp.dir, 'bao'), nodeId: 'dr' }),
    ]);
    const init = await initNode(source.address, 'shamir', { shares: 3, threshold: 2 });
    sourceKeys = init.keys;
    const creds = join(tmp.dir, 'creds');
    mkdirSync(creds);
    const seeded = await seedSourceCluster({
      address: source.address,
      rootToken: init.rootToken,
      credsDir: creds,
      postgres: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password },
    });
    writeFileSync(join(creds, 'codec.key'), Buffer.alloc(32, 3).toString('base64'));
    const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });
    configFile = join(tmp.dir, 'secdr.yaml');
    writeFileSync(
      configFile,
      stringify({
        temporal: { taskQueue: 'secdr-e2e' },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(seeded.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
        restore: {
          targets: [
            {
              name: 'dr',
              address: dr.address,
              seal: 'shamir',
              shamir: { shares: 3, threshold: 2 },
              verifier: approle(seeded.verifier),
              after: 'keep', // one-shot Shamir target; no restorer seeded for it
              database: { role: 'readonly', host: pg.host, port: pg.port, database: 'postgres' },
            },
          ],
          testTarget: 'dr',
        },
        reportsDir: join(tmp.dir, 'reports'),
        metrics: { port: 0 },
        codec: { keyId: 'e2e', key: { file: join(creds, 'codec.key') } },
      }),
    );
    config = loadConfig(configFile);
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
    startWorker(1);
  });

  after(async () => {
    await client?.connection.close().catch(() => undefined);
    await Promise.all([...workers, temporal?.process, pg?.process, source?.process, dr?.process].filter(Boolean).map((p) => p!.stop()));
    tmp.cleanup();
  });

  it('`schedules apply` creates the daily snapshot and weekly test-restore Schedules, and a second apply changes nothing', async () => {
    assert.deepEqual(await applySchedules(client, config), [
      { id: 'secdr-snapshot-src', action: 'created' },
      { id: 'secdr-test-restore-src', action: 'created' },
    ]);
    const first = await client.schedule.getHandle('secdr-snapshot-src').describe();
    assert.deepEqual(await applySchedules(client, config), [
      { id: 'secdr-snapshot-src', action: 'updated' },
      { id: 'secdr-test-restore-src', action: 'updated' },
    ]);
    const second = await client.schedule.getHandle('secdr-snapshot-src').describe();
    assert.deepEqual(second.spec, first.spec);
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    assert.deepEqual(ids.sort(), ['secdr-snapshot-src', 'secdr-test-restore-src']);
  });

  let snapshot: SnapshotResult;
  it('the snapshot Schedule, triggered, takes and stores a verified snapshot through the worker process', async () => {
    const schedule = client.schedule.getHandle('secdr-snapshot-src');
    await schedule.trigger();
    const action = await waitFor('the scheduled snapshot to start', async () => (await schedule.describe()).info.recentActions[0], { timeoutMs: 60_000, intervalMs: 500 });
    const started = action.action;
    snapshot = (await client.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId).result()) as SnapshotResult;
    assert.equal(snapshot.cluster, 'src');
    assert.ok(snapshot.raftIndex > 0);
  });

  it('restores into a fresh Shamir cluster, completes on a second worker after the first is killed mid-restore, and the report is whole', async () => {
    const handle = await client.workflow.start(vaultRestoreWorkflow, {
      taskQueue: 'secdr-e2e',
      workflowId: `e2e-restore-${Date.now()}`,
      args: [{ ...vaultRestore.input(config, { cluster: 'src', target: 'dr' }), pollSeconds: 1 }],
    });
    await waitFor('the restore to wait for unseal', async () => (await handle.query(restoreStatusQuery)).phase.startsWith('sealed'), { timeoutMs: 120_000, intervalMs: 500 });

    // The worker host dies in the middle of the restore.
    const first = workers[0];
    process.kill(-first.pid!, 'SIGKILL');
    await waitFor('worker 1 to be gone', async () => !first.alive);
    startWorker(2);

    // Humans unseal the DR cluster with the source's shares; they go to Vault only.
    const stdin = new PassThrough();
    stdin.end(`${sourceKeys[0]}\n${sourceKeys[2]}\n`);
    assert.equal(await unsealCommand(dr.address, { input: stdin, output: new PassThrough(), nudge: () => handle.signal('unsealProgress') }), 0);

    const report = (await handle.result()) as RestoreReport;
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.snapshot, `src/${snapshot.key}`);
    assert.ok(report.steps.every((s) => s.endedAt && s.outcome !== 'failed'), JSON.stringify(report.steps));
    assert.deepEqual(report.checks.map((c) => c.ok), [true, true]);
    assert.ok(existsSync(report.reportFiles!.json));
    const saved = JSON.parse(readFileSync(report.reportFiles!.json, 'utf8')) as RestoreReport;
    assert.equal(saved.outcome, 'verified');

    // Two different worker processes completed its tasks.
    const history = await handle.fetchHistory();
    const identities = new Set(
      (history.events ?? []).map((e) => e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity).filter(Boolean),
    );
    assert.ok(identities.size >= 2, `task identities: ${[...identities].join(', ')}`);
    const raw = JSON.stringify(history);
    for (const k of sourceKeys) assert.equal(raw.includes(k), false, 'no unseal key in history');
  });
});
