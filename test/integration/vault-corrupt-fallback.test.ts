import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SecdrConfig } from '../../lib/config/schema';
import { MOTO_ENV } from '../../dev-stack/dr-stack';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { autoTarget, restoreConfig, startRestoreServers, startRestoreWorker, type RestoreRig, type RestoreServers } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

describe('a corrupt snapshot in real S3 (moto) falls back to the previous one', function () {
  this.timeout(300_000);
  const tmp = tempDir('corrupt-fallback');
  let servers: RestoreServers;
  let moto: MotoServer;
  let config: SecdrConfig;
  let rig: RestoreRig;

  before(async () => {
    Object.assign(process.env, MOTO_ENV);
    [servers, moto] = await Promise.all([startRestoreServers(tmp.dir, ['dr']), startMoto(join(tmp.dir, 'moto'))]);
    await new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'snaps' }));
    config = restoreConfig(tmp.dir, servers, 'corrupt', {
      storage: [{ name: 's3', type: 's3', bucket: 'snaps', region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/t' }],
      restore: { targets: [autoTarget(servers, 'dr', servers.nodes.dr.address)] },
    });
    rig = await startRestoreWorker(servers.temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    await Promise.all([servers?.stop(), moto?.process.stop()]);
    tmp.cleanup();
  });

  const snapshot = () => rig.snapshot();

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

    const report = await rig.restore('dr', { storage: 's3' });
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.snapshot, `vault-snapshots/src/${older.key}`);
    assert.deepEqual(report.skipped.map((s) => s.key), [key]);
    assert.match(report.skipped[0].reason, /sha256|SHA-256|checksum|corrupt|mismatch/i);
    assert.equal(report.checks[0].detail, older.canaryNonce);
  });
});
