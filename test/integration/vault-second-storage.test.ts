import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import { approle, startRestoreWorker, type RestoreRig } from '../harness/restore-worker';
import { tempDir } from '../harness/temp';

const s3 = (endpoint: string) => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });

describe('restore takes the same snapshot from the second storage when the first fails (two real moto servers, OpenBao, Temporal)', function () {
  this.timeout(400_000);
  const tmp = tempDir('second-storage');
  let temporal: TemporalDevServer;
  let first: MotoServer;
  let second: MotoServer;
  let source: OpenBaoNode;
  let drCorrupt: OpenBaoNode;
  let drDown: OpenBaoNode;
  let config: SecdrConfig;
  let rig: RestoreRig;
  const taskQueue = `second-storage-${randomUUID()}`;

  before(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_REGION = 'us-east-1';
    const sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    const baoDir = join(tmp.dir, 'openbao');
    [temporal, first, second, source, drCorrupt, drDown] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startMoto(join(tmp.dir, 'moto-first')),
      startMoto(join(tmp.dir, 'moto-second')),
      startOpenBao({ dir: baoDir, nodeId: 'source', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-corrupt', staticSealKeyFile: sealKey }),
      startOpenBao({ dir: baoDir, nodeId: 'dr-down', staticSealKeyFile: sealKey }),
    ]);
    const { rootToken } = await initNode(source.address, 'auto');
    const credsDir = join(tmp.dir, 'creds');
    mkdirSync(credsDir);
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir });
    for (const m of [first, second]) await s3(m.endpoint).send(new CreateBucketCommand({ Bucket: 'snaps' }));
    writeFileSync(join(tmp.dir, 'codec.key'), Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
    const storage = (name: string, endpoint: string) => ({ name, type: 's3', bucket: 'snaps', region: 'us-east-1', endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/t' });
    const target = (name: string, address: string) => ({ name, address, seal: 'auto', verifier: approle(creds.verifier), restorer: approle(creds.restorer) });
    config = parseConfig(
      {
        temporal: { taskQueue },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(creds.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [storage('first', first.endpoint), storage('second', second.endpoint)],
        restore: { targets: [target('dr-corrupt', drCorrupt.address), target('dr-down', drDown.address)] },
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 'second-storage', key: { file: join(tmp.dir, 'codec.key') } },
      },
      'second storage config',
    );
    rig = await startRestoreWorker(temporal.address, config);
  });

  after(async () => {
    await rig?.close();
    await Promise.all([temporal, first, second, source, drCorrupt, drDown].filter(Boolean).map((s) => s.process.stop()));
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
