import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { WorkflowFailedError } from '@temporalio/client';
import { fillSecrets } from '../../bench/fill';
import { MOTO_ENV } from '../../dev-stack/dr-stack';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { startOpenBao, writeStaticSealKey, type OpenBaoNode } from '../../dev-stack/openbao';
import { initNode } from '../../dev-stack/openbao-setup';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { seedSourceCluster } from '../../dev-stack/vault-seed';
import { parseConfig } from '../../lib/config/load';
import type { SecdrConfig } from '../../lib/config/schema';
import { procedureRuns } from '../../lib/metrics';
import { createStore } from '../../lib/storage/snapshot-store';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { vaultSnapshotWorkflow } from '../../workflows';
import { approle } from '../harness/restore-worker';
import { startInProcessWorker, type InProcessWorker } from '../harness/in-process-worker';
import { tempDir } from '../harness/temp';

const BUCKET = 'secdr-s3-down';
const MiB = 1024 * 1024;

/**
 * A TCP relay in front of moto: S3 "goes down" when the relay has passed `cutAfter` request bytes
 * (inside the second part's body): every connection is cut and new ones are refused, as when
 * the S3 endpoint's network goes away mid-upload. moto itself keeps running, so the test can read
 * afterwards what S3 holds (no object, no catalog entry) straight from it.
 */
async function cuttableRelay(to: string, cutAfter: number): Promise<{ endpoint: string; cut: Promise<void> }> {
  const target = new URL(to);
  const sockets = new Set<Socket>();
  let sent = 0;
  let cutDone!: () => void;
  const cut = new Promise<void>((ok) => (cutDone = ok));
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      sent += d.length;
      if (sent >= cutAfter) {
        server.close();
        for (const s of sockets) s.destroy();
        cutDone();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => (b.destroy(), sockets.delete(a)));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cut };
}

const failedRuns = async () => (await procedureRuns.get()).values.find((v) => v.labels.procedure === 'vault-snapshot' && v.labels.outcome === 'failed')?.value ?? 0;

describe('snapshot procedure when S3 goes down mid-upload (real OpenBao, moto, Temporal)', function () {
  this.timeout(300_000);
  const tmp = tempDir('snapshot-s3-down');
  let temporal: TemporalDevServer;
  let moto: MotoServer;
  let source: OpenBaoNode;
  let worker: InProcessWorker | undefined;
  let config: SecdrConfig;
  let s3: S3Client;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    for (const [k, v] of Object.entries(MOTO_ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    [temporal, moto, source] = await Promise.all([
      startTemporalDevServer({ dir: join(tmp.dir, 'temporal') }),
      startMoto(join(tmp.dir, 'moto')),
      startOpenBao({ dir: join(tmp.dir, 'openbao'), nodeId: 'source', staticSealKeyFile: writeStaticSealKey(join(tmp.dir, 'static.key')) }),
    ]);
    const { rootToken } = await initNode(source.address, 'auto');
    mkdirSync(join(tmp.dir, 'creds'));
    const creds = await seedSourceCluster({ address: source.address, rootToken, credsDir: join(tmp.dir, 'creds') });
    // ~12 MiB of incompressible secrets: the snapshot needs more than one 8 MiB part, so the cut lands mid-upload.
    await fillSecrets(source.address, rootToken, 0, 24, () => undefined);
    s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // 9 MiB of requests: part 1 (8 MiB) went through, the cut lands in part 2, which is sent once the
    // ~12 MiB stream has ended and verified: S3 fails while completing, after the pass (deterministic).
    const relay = await cuttableRelay(moto.endpoint, 9 * MiB);
    config = parseConfig(
      {
        temporal: { taskQueue: `s3-down-${randomUUID()}` },
        clusters: [{ name: 'src', nodes: [source.address], auth: approle(creds.snapshot), stagingDir: join(tmp.dir, 'staging') }],
        storage: [
          { name: 'offsite', type: 's3', bucket: BUCKET, region: 'us-east-1', endpoint: relay.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/secdr-test' },
          { name: 'onsite', type: 'local', dir: join(tmp.dir, 'store') },
        ],
        reportsDir: join(tmp.dir, 'reports'),
        codec: { keyId: 's3-down', key: { env: 'SECDR_S3_DOWN_CODEC_KEY' } },
      },
      's3-down test config',
    );
    process.env.SECDR_S3_DOWN_CODEC_KEY = Buffer.alloc(32, 7).toString('base64');
    worker = await startInProcessWorker(temporal, config);
  });

  after(async () => {
    await worker?.close();
    s3?.destroy();
    await Promise.all([temporal, moto, source].filter(Boolean).map((s) => s.process.stop()));
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.SECDR_S3_DOWN_CODEC_KEY;
    tmp.cleanup();
  });

  it('retries within the profile, then fails naming S3; nothing is stored or cataloged in S3, the local copy is kept, and the failure metric rises', async () => {
    const failedBefore = await failedRuns();
    const handle = await worker!.client.workflow.start(vaultSnapshotWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: `snap-s3-down-${randomUUID()}`,
      args: [vaultSnapshot.input(config, { cluster: 'src' })],
    });
    await assert.rejects(handle.result(), (err: WorkflowFailedError) => {
      const text = `${err.cause?.message} ${(err.cause as { cause?: Error })?.cause?.message ?? ''}`;
      assert.match(text, /storage offsite/, text);
      assert.match(text, /s3:\/\/secdr-s3-down\//, text);
      // The last attempt found S3 still down: the reason names the endpoint and what to check.
      assert.match(text, /cannot reach http:\/\/127\.0\.0\.1:\d+: refused \(ECONNREFUSED\); check the endpoint/, text);
      return true;
    });

    // Retried within the streaming profile: the last attempt recorded in history is the profile's last (3).
    const history = await handle.fetchHistory();
    const takeSnapshot = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'takeSnapshot');
    assert.ok(takeSnapshot, 'takeSnapshot was scheduled');
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === takeSnapshot.eventId?.toString());
    assert.equal(started.length, 1);
    assert.equal(started[0].activityTaskStartedEventAttributes!.attempt, 3, 'three attempts (profiles.streaming.retry.maximumAttempts)');

    // moto itself was up all along: S3 holds no snapshot object and no catalog entry.
    const objects = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? [];
    assert.deepEqual(objects.map((o) => o.Key), [], 'no object, no catalog entry in S3');
    // The multipart upload cut mid-part could not be aborted while S3 was unreachable: the message says so (lifecycle rule).
    const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [];
    assert.ok(uploads.length <= 1, `at most the one cut upload is left for the lifecycle rule: ${uploads.length}`);
    // The local storage written in the same pass completed, read back and cataloged its copy before S3's
    // failure surfaced: the first attempt's snapshot is kept there; the retries failed before streaming.
    const local = await createStore(config.storage[1]).list('src');
    assert.equal(local.length, 1, JSON.stringify(local));
    assert.equal(local[0].storage, 'onsite');
    assert.ok(local[0].bytes > 8 * MiB, 'the whole archive');

    assert.equal(await failedRuns(), failedBefore + 1, 'secdr_procedure_runs_total{procedure="vault-snapshot",outcome="failed"} rose by one');
  });
});
