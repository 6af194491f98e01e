import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SecdrConfig } from '../../lib/config/schema';
import { MOTO_ENV } from '../../dev-stack/dr-stack';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { autoTarget, restoreConfig, startRestoreServers, startRestoreWorker, type RestoreRig, type RestoreServers } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

const s3 = (endpoint: string) => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });

describe('restore takes the same snapshot from the second storage when the first fails (two real moto servers, OpenBao, Temporal)', function () {
  this.timeout(400_000);
  const tmp = tempDir('second-storage');
  let servers: RestoreServers;
  let first: MotoServer;
  let second: MotoServer;
  let config: SecdrConfig;
  let rig: RestoreRig;

  before(async () => {
    Object.assign(process.env, MOTO_ENV);
    [servers, first, second] = await Promise.all([
      startRestoreServers(tmp.dir, ['dr-corrupt', 'dr-down']),
      startMoto(join(tmp.dir, 'moto-first')),
      startMoto(join(tmp.dir, 'moto-second')),
    ]);
    for (const m of [first, second]) await s3(m.endpoint).send(new CreateBucketCommand({ Bucket: 'snaps' }));
    const storage = (name: string, endpoint: string) => ({ name, type: 's3', bucket: 'snaps', region: 'us-east-1', endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/t' });
    config = restoreConfig(tmp.dir, servers, 'second-storage', {
      storage: [storage('first', first.endpoint), storage('second', second.endpoint)],
      restore: { targets: ['dr-corrupt', 'dr-down'].map((n) => autoTarget(servers, n, servers.nodes[n].address)) },
    });
    rig = await startRestoreWorker(servers.temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    await Promise.all([servers?.stop(), first?.process.stop(), second?.process.stop()]);
    tmp.cleanup();
  });

  const snapshot = () => rig.snapshot();
  const restore = (target: string) => rig.restore(target, { storage: 'first' });

  it('takes the same snapshot from the second storage when the first storage\'s copy is corrupt, not an older snapshot, and says so', async () => {
    const older = await snapshot();
    await new Promise((r) => setTimeout(r, 1100)); // snapshot keys are stamped to the second
    const newer = await snapshot();
    const key = `vault-snapshots/src/${newer.key}`;
    const firstS3 = s3(first.endpoint);
    const obj = await firstS3.send(new GetObjectCommand({ Bucket: 'snaps', Key: key }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    body[Math.floor(body.length / 2)] ^= 0xff; // one flipped byte in the first storage's copy only
    await firstS3.send(new PutObjectCommand({ Bucket: 'snaps', Key: key, Body: body, Metadata: obj.Metadata }));

    const report = await restore('dr-corrupt');
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.snapshot, key, `the newer snapshot, not the older ${older.key}`);
    assert.equal(report.storage, 'second', 'the report names the storage the copy came from');
    assert.equal(report.checks[0].detail, newer.canaryNonce, 'the restored data is the newer snapshot\'s');
    assert.deepEqual(report.skipped, [], 'no snapshot was passed over');
    assert.equal(report.storagesSkipped?.length, 1, JSON.stringify(report.storagesSkipped));
    assert.equal(report.storagesSkipped[0].storage, 'first');
    assert.equal(report.storagesSkipped[0].key, key);
    assert.match(report.storagesSkipped[0].reason, /in storage first: download does not match the catalog/);
    assert.ok(report.findings.some((f) => f.startsWith('storage first skipped for ')), report.findings.join('\n'));
    assert.ok(report.steps.some((s) => s.name === `download and verify ${key} from second` && s.outcome === 'ok'), JSON.stringify(report.steps.map((s) => s.name)));
  });

  it('restores from the second storage when the first is unreachable (its moto stopped), and the report says why the first was skipped', async () => {
    const newest = await snapshot();
    await first.process.stop();
    const report = await restore('dr-down');
    assert.equal(report.outcome, 'verified', report.error);
    assert.equal(report.snapshot, `vault-snapshots/src/${newest.key}`);
    assert.equal(report.storage, 'second');
    assert.equal(report.checks[0].detail, newest.canaryNonce);
    assert.equal(report.storagesSkipped?.length, 1, JSON.stringify(report.storagesSkipped));
    assert.equal(report.storagesSkipped[0].storage, 'first');
    assert.equal(report.storagesSkipped[0].key, undefined, 'the whole storage, not one copy');
    assert.match(report.storagesSkipped[0].reason, new RegExp(`storage first: list the catalog .* failed: cannot reach ${first.endpoint}: refused \\(ECONNREFUSED\\)`));
    const listings = report.steps.filter((s) => s.name.startsWith('list verified snapshots'));
    assert.deepEqual(
      listings.map((s) => [s.name, s.outcome]),
      [
        ['list verified snapshots', 'failed'],
        ['list verified snapshots in second', 'ok'],
      ],
    );
  });
});
