import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import type { RestoreReport } from '../../lib/reports/restore';
import { dataConverterFor } from '../../lib/temporal/connect';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { createWorker } from '../../workers/worker';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';
import { tempDir } from '../harness/temp';

const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });

describe('a corrupt snapshot in real S3 (moto) falls back to the previous one', function () {
  this.timeout(300_000);
  const tmp = tempDir('corrupt-fallback');
  let temporal: TemporalDevServer;
  let moto: MotoServer;
  let source: OpenBaoNode;
  let dr: OpenBaoNode;
  let config: SecdrConfig;
  let client: Client;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `corrupt-${randomUUID()}`;

  before(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_REGION = 'us-east-1';
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    const baoDir = join(tmp.dir, 'openbao');
    [temporal, moto, source, dr] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startMoto(join(tmp.dir, 'moto')),
      startOpenBao({ dir: baoDir, nodeId: 'source', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'dr', staticSealKeyFile: sealKey }),
    ]);
    const { rootToken } = await initNode(source.address, 'auto');
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir });
    await new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'snaps' }));
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 6).toString('base64'), { mode: 0o600 });
    config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(creds.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [{ name: 's3', type: 's3', bucket: 'snaps', region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/t' }],
        restore: { targets: [{ name: 'dr', address: dr.address, seal: 'auto', verifier: approle(creds.verifier), restorer: approle(creds.restorer) }] },
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 'corrupt', key: { file: join(tmp.dir, 'codec.key') } },
      },
      'corrupt fallback config',
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
    await Promise.all([temporal, moto, source, dr].filter(Boolean).map((s) => s.process.stop()));
    tmp.cleanup();
  });

  const snapshot = (): Promise<SnapshotResult> =>
    client.workflow.execute(vaultSnapshotWorkflow, { taskQueue, workflowId: `snap-${randomUUID()}`, args: [vaultSnapshot.input(config, { cluster: 'src' })] });

  it('skips the newest snapshot whose object was corrupted in S3, restores the previous one and says why', async () => {
    const older = await snapshot();
    await new Promise((r) => setTimeout(r, 1100)); // snapshot keys are stamped to the second
    const newer = await snapshot();
    const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true });
    const key = `vault-snapshots/src/${newer.key}`;
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'snaps', Key: key }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    body[Math.floor(body.length / 2)] ^= 0xff; // one flipped byte in the middle of the archive
    await s3.send(new PutObjectCommand({ Bucket: 'snaps', Key: key, Body: body, Metadata: obj.Metadata }));

    const report = (await client.workflow.execute(vaultRestoreWorkflow, {
      taskQueue,
      workflowId: `restore-${randomUUID()}`,
      args: [{ ...vaultRestore.input(config, { cluster: 'src', target: 'dr', storage: 's3' }), pollSeconds: 1 }],
    })) as RestoreReport;
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.snapshot, `vault-snapshots/src/${older.key}`);
    assert.deepEqual(report.skipped.map((s) => s.key), [key]);
    assert.match(report.skipped[0].reason, /sha256|SHA-256|checksum|corrupt|mismatch/i);
    assert.equal(report.checks[0].detail, older.canaryNonce);
  });
});
