import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startOpenBao, type OpenBaoNode } from '../../dev-stack/openbao';
import { replicateTransitKey, startTransitKms, type TransitKms } from '../../dev-stack/openbao-kms';
import { initNode } from '../../dev-stack/openbao-setup';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
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

/** Every message and type along a failure's cause chain. */
function causes(err: unknown): { type?: string; message: string }[] {
  const out: { type?: string; message: string }[] = [];
  for (let e = err as { type?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push({ type: e.type, message: e.message ?? '' });
  return out;
}

describe('auto-unseal KMS unavailable: OpenBao transit seal against a second OpenBao as the KMS, with a replica', function () {
  this.timeout(300_000);
  const tmp = tempDir('vault-kms');
  let temporal: TemporalDevServer;
  let kmsA: TransitKms;
  let kmsB: TransitKms;
  const nodes: Record<string, OpenBaoNode> = {};
  let config: SecdrConfig;
  let client: Client;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let snap: SnapshotResult;
  const taskQueue = `vault-kms-${randomUUID()}`;

  before(async () => {
    const kmsDir = join(tmp.dir, 'kms');
    [temporal, kmsA, kmsB] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startTransitKms({ dir: kmsDir, nodeId: 'kms-region-a' }),
      startTransitKms({ dir: kmsDir, nodeId: 'kms-region-b', createKey: false }),
    ]);
    // Region B's KMS gets a copy of the same key: what a multi-region KMS key gives in the cloud.
    await replicateTransitKey(kmsA, kmsB);
    const baoDir = join(tmp.dir, 'openbao');
    [nodes.source, nodes.drA, nodes.drB] = await Promise.all([
      startOpenBao({ dir: baoDir, nodeId: 'source', transitSeal: kmsA.seal }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-a', transitSeal: kmsA.seal }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-b', transitSeal: kmsB.seal }),
    ]);
    const { rootToken } = await initNode(nodes.source.address, 'auto');
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: nodes.source.address, rootToken, credsDir });
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 3).toString('base64'), { mode: 0o600 });
    config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [{ name: 'src', nodes: [nodes.source.address], auth: approle(creds.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
        restore: {
          targets: [
            { name: 'dr-a', address: nodes.drA.address, seal: 'auto', kms: { type: 'transit', address: kmsA.node.address }, verifier: approle(creds.verifier), after: 'keep' },
            { name: 'dr-b', address: nodes.drB.address, seal: 'auto', kms: { type: 'transit', address: kmsB.node.address }, verifier: approle(creds.verifier), after: 'keep' },
          ],
        },
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 'kms-test', key: { file: join(tmp.dir, 'codec.key') } },
      },
      'kms test config',
    );
    native = await NativeConnection.connect({ address: temporal.address });
    worker = await createWorker({ config, connection: native, namespace: 'default' });
    running = worker.run();
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), dataConverter: dataConverterFor(config) });
    snap = await client.workflow.execute(vaultSnapshotWorkflow, { taskQueue, workflowId: `snap-${randomUUID()}`, args: [vaultSnapshot.input(config, { cluster: 'src' })] });
  });

  after(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await native?.close().catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await Promise.all([temporal, kmsA, kmsB, ...Object.values(nodes)].filter(Boolean).map((s) => ('node' in s ? s.node : s).process.stop()));
    tmp.cleanup();
  });

  const restore = (target: string) =>
    client.workflow.execute(vaultRestoreWorkflow, { taskQueue, workflowId: `restore-${target}-${randomUUID()}`, args: [{ ...vaultRestore.input(config, { cluster: 'src', target, storage: 'local' }), pollSeconds: 1 }] });

  it('fails at once with SealKmsUnavailable naming the KMS address when the target cannot reach its KMS', async () => {
    await kmsA.node.process.stop();
    await assert.rejects(restore('dr-a'), (err: WorkflowFailedError) => {
      const chain = causes(err);
      assert.ok(chain.some((c) => c.type === 'SealKmsUnavailable'), JSON.stringify(chain));
      const msg = chain.find((c) => c.type === 'SealKmsUnavailable')!.message;
      assert.match(msg, new RegExp(`target dr-a: its seal's KMS \\(transit\\) at ${kmsA.node.address} is unavailable \\(.*connection refused`));
      assert.match(msg, /replica KMS/);
      return true;
    });
    assert.equal((await nodeHealth(nodes.drA.address)).state, 'uninitialized', 'the target was left untouched');
  });

  it('restores into a target whose seal uses the replica KMS while the first KMS is down, and the canary verifies', async () => {
    assert.equal((await nodeHealth(kmsA.node.address)).state, 'unreachable', 'region A KMS is still down');
    const report = (await restore('dr-b')) as RestoreReport;
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.checks[0].detail, snap.canaryNonce);
  });
});
