import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { binaries } from '../../dev-stack/paths';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import { componentByName, platformFor } from '../../lib/platform';
import type { RestoreReport } from '../../lib/reports/restore';
import { dataConverterFor } from '../../lib/temporal/connect';
import { nodeHealth } from '../../lib/vault/health';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { createWorker } from '../../workers/worker';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { tempDir } from '../harness/temp';

const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });

describe('weekly test restore repeats into the same target and leaves it out of service (real OpenBao, Temporal, process adapter)', function () {
  this.timeout(300_000);
  const tmp = tempDir('weekly-restore');
  let temporal: TemporalDevServer;
  let source: OpenBaoNode;
  let stranger: OpenBaoNode;
  let drAddress: string;
  let config: SecdrConfig;
  let client: Client;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `weekly-${randomUUID()}`;

  before(async () => {
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    const baoDir = join(tmp.dir, 'openbao');
    let dr: OpenBaoNode;
    [temporal, source, dr, stranger] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startOpenBao({ dir: baoDir, nodeId: 'source', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'dr', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'stranger', staticSealKeyFile: sealKey }),
    ]);
    // The DR target runs under the process platform adapter (as a systemd unit or a StatefulSet
    // would in production): stop the harness's copy and let the adapter own the same config and data.
    drAddress = dr.address;
    await dr.process.stop();
    const { rootToken } = await initNode(source.address, 'auto');
    await initNode(stranger.address, 'auto'); // initialised by someone else
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir });
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 5).toString('base64'), { mode: 0o600 });
    const target = (name: string, address: string, extra: object = {}) => ({ name, address, seal: 'auto', verifier: approle(creds.verifier), restorer: approle(creds.restorer), ...extra });
    config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(creds.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
        components: [
          {
            name: 'dr-vault',
            platform: {
              type: 'process',
              command: [binaries.bao, 'server', `-config=${join(baoDir, 'dr', 'config.hcl')}`],
              pidFile: join(tmp.dir, 'dr-vault.pid'),
              logFile: join(tmp.dir, 'dr-vault.log'),
              readyUrl: `${drAddress}/v1/sys/health?uninitcode=200&sealedcode=200&standbycode=200`,
            },
          },
        ],
        restore: { targets: [target('dr', drAddress, { component: 'dr-vault' }), target('stranger', stranger.address)], testTarget: 'dr' },
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 'weekly', key: { file: join(tmp.dir, 'codec.key') } },
      },
      'weekly restore test config',
    );
    native = await NativeConnection.connect({ address: temporal.address });
    worker = await createWorker({ config, connection: native, namespace: 'default' });
    running = worker.run();
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
  });

  after(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await native?.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    if (config) await platformFor(componentByName(config, 'dr-vault')).stop().catch((e: Error) => console.error(`stopping dr-vault: ${e.message}`));
    await Promise.all([temporal, source, stranger].filter(Boolean).map((s) => s.process.stop()));
    tmp.cleanup();
  });

  const snapshot = (): Promise<SnapshotResult> =>
    client.workflow.execute(vaultSnapshotWorkflow, { taskQueue, workflowId: `snap-${randomUUID()}`, args: [vaultSnapshot.input(config, { cluster: 'src' })] });
  const restore = (target: string): Promise<RestoreReport> =>
    client.workflow.execute(vaultRestoreWorkflow, { taskQueue, workflowId: `weekly-${target}-${randomUUID()}`, args: [{ ...vaultRestore.input(config, { cluster: 'src', target, storage: 'local' }), pollSeconds: 1 }] });

  it('restores twice into the same target with the canary changed in between: both verify, the second has the newer nonce, sealed after each', async () => {
    const week1 = await snapshot();
    const first = await restore('dr');
    assert.equal(first.outcome, 'verified', first.error);
    assert.equal(first.checks[0].detail, week1.canaryNonce);
    assert.deepEqual(first.compensations.find((c) => c.name === 'put dr out of service'), { ...first.compensations.find((c) => c.name === 'put dr out of service')!, outcome: 'done', detail: 'sealed' });
    assert.equal((await nodeHealth(drAddress)).state, 'sealed', 'no live copy of production after week 1');

    const week2 = await snapshot(); // writes a new canary nonce before the snapshot
    assert.notEqual(week2.canaryNonce, week1.canaryNonce);
    const second = await restore('dr');
    assert.equal(second.outcome, 'verified', second.error);
    assert.equal(second.checks[0].detail, week2.canaryNonce, 'the second restore reports the newer nonce');
    assert.match(second.steps.find((s) => s.name === 'bring the target back into service')?.detail ?? '', /restarted dr-vault: auto-unsealed/);
    assert.equal((await nodeHealth(drAddress)).state, 'sealed', 'no live copy of production after week 2');
  });

  it('refuses a target initialised by someone else, saying what to do, and leaves it as it was', async () => {
    await assert.rejects(restore('stranger'), (err: WorkflowFailedError) => {
      const text = JSON.stringify(err.cause?.message) + JSON.stringify((err.cause as { cause?: Error })?.cause?.message ?? '');
      assert.match(text, /already initialised; secdr restores only into a fresh cluster or over an earlier restore of the same source, and the restorer AppRole from the source's data does not log in/);
      assert.match(text, /Wipe its raft data/);
      assert.doesNotMatch(text, /left changed/, 'a target holding no restore of this source is not sealed, and that is no failure');
      return true;
    });
    assert.equal((await nodeHealth(stranger.address)).state, 'active', 'not sealed: it is not secdr\'s to put out of service');
  });
});
