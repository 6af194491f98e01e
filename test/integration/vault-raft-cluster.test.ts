import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, msToNumber } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createVaultActivities, type TakenSnapshot } from '../../activities/vault';
import { startMoto, type MotoServer } from '../../dev-stack/moto';
import { writeStaticSealKey } from '../../dev-stack/openbao';
import { PRODUCTION_DIR, startDrTarget, startOpenBaoCluster, type OpenBaoCluster } from '../../dev-stack/openbao-cluster';
import { waitForActive } from '../../dev-stack/openbao-setup';
import { waitFor } from '../../dev-stack/wait';
import { seedSourceCluster, type SeededCredentials } from '../../dev-stack/vault-seed';
import type { SecdrConfig } from '../../lib/config/schema';
import { FailureType } from '../../lib/failure-types';
import { verifySnapshotFile } from '../../lib/snapshot/verify-file';
import { PART_SIZE } from '../../lib/storage/s3-store';
import { createStore } from '../../lib/storage/snapshot-store';
import { vaultApi } from '../../lib/vault/client';
import { nodeHealth } from '../../lib/vault/health';
import { profiles } from '../../workflows/activity-profiles';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

const MiB = 1024 * 1024;
const BUCKET = 'secdr-raft';
const PREFIX = 'vault-snapshots/';
const retry = profiles.streaming.retry;

/** One snapshot activity run in an activity context whose heartbeats (`{ bytes }`) reach `onHeartbeat`. */
async function takeSnapshotOnce(config: SecdrConfig, onHeartbeat: (d: { bytes?: number }) => void = () => undefined): Promise<TakenSnapshot> {
  const env = new MockActivityEnvironment();
  env.on('heartbeat', (d: { bytes?: number }) => onHeartbeat(d ?? {}));
  const vault = createVaultActivities(config);
  return env.run(vault.takeSnapshot, { cluster: 'prod', storages: ['s3'], canary: { nonce: `n-${Date.now()}`, writtenAt: new Date().toISOString() } });
}

/**
 * The snapshot step as Temporal runs it under the `streaming` profile: up to maximumAttempts,
 * backing off from initialInterval, stopping at a non-retryable failure. Returns every failed
 * attempt's failure and the result.
 */
async function takeSnapshotWithRetries(config: SecdrConfig, onHeartbeat: (attempt: number, d: { bytes?: number }) => void) {
  const failures: ApplicationFailure[] = [];
  let delay = msToNumber(retry.initialInterval);
  for (let attempt = 1; ; attempt++) {
    try {
      return { failures, result: await takeSnapshotOnce(config, (d) => onHeartbeat(attempt, d)) };
    } catch (err) {
      assert.ok(err instanceof ApplicationFailure, `attempt ${attempt} failed with a typed failure, not ${String(err)}`);
      failures.push(err);
      const final = err.nonRetryable || (retry.nonRetryableErrorTypes as string[]).includes(err.type ?? '') || attempt >= retry.maximumAttempts;
      if (final) throw err;
      await sleep(delay);
      delay *= retry.backoffCoefficient;
    }
  }
}

describe('3-node raft cluster from deploy/vault/production (TLS, retry_join, static seal override)', function () {
  this.timeout(600_000);
  const tmp = tempDir('raft-cluster');
  let cluster: OpenBaoCluster;
  let moto: MotoServer;
  let s3: S3Client;
  let config: SecdrConfig;
  let configOverrides: Record<string, unknown>;
  let creds: SeededCredentials;
  let sealKey: string;
  const saved: Record<string, string | undefined> = {};

  const objects = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  const snapshotObjects = () => objects(`${PREFIX}prod/vault-prod-`);
  const openUploads = async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).map((u) => u.Key!);
  const states = async () => Promise.all(cluster.addresses.map(async (a) => (await nodeHealth(a, cluster.caFile)).state));

  /** The stored copy downloads and verifies, and the catalog holds it with the same hash. */
  async function assertStoredAndVerified(r: TakenSnapshot): Promise<void> {
    const store = createStore(config.storage[0]);
    const entry = (await store.list('prod')).find((e) => e.key.endsWith(r.fileName));
    assert.ok(entry, `${r.fileName} is cataloged`);
    assert.equal(entry.sha256, r.sha256);
    const dest = join(tmp.dir, 'download', r.fileName);
    await store.get(entry.key, dest);
    assert.equal((await verifySnapshotFile(dest)).archiveSha256, r.sha256, 'the stored object is the verified archive');
  }

  before(async () => {
    for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    sealKey = writeStaticSealKey(join(tmp.dir, 'static.key'));
    [moto, cluster] = await Promise.all([startMoto(join(tmp.dir, 'moto')), startOpenBaoCluster({ dir: join(tmp.dir, 'raft'), seal: { type: 'static', keyFile: sealKey } })]);
    const leader = await cluster.active();
    creds = await seedSourceCluster({ address: leader, rootToken: cluster.rootToken, credsDir: tmp.dir, caFile: cluster.caFile });
    // ~20 MiB of barrier-encrypted (incompressible) data, so a snapshot stream lasts long enough to be interrupted.
    const api = vaultApi(leader, { token: cluster.rootToken, caFile: cluster.caFile });
    for (let i = 0; i < 40; i += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, j) => api.write(`secret/data/fill/${i + j}`, { data: { v: randomBytes(384 * 1024).toString('base64') } })));
    }
    s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    configOverrides = {
      clusters: [
        {
          name: 'prod',
          nodes: cluster.addresses,
          caFile: cluster.caFile,
          auth: { method: 'approle', roleId: { file: creds.snapshot.roleIdFile }, secretId: { file: creds.snapshot.secretIdFile } },
          localRetentionDays: 0,
          stagingDir: join(tmp.dir, 'staging'),
        },
      ],
      storage: [{ name: 's3', type: 's3', bucket: BUCKET, region: 'us-east-1', prefix: PREFIX, endpoint: moto.endpoint, forcePathStyle: true, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/secdr-raft' }],
    };
    config = testConfig(tmp.dir, configOverrides);
  });
  after(async () => {
    s3?.destroy();
    await Promise.all([cluster?.stop(), moto?.process.stop()]);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    tmp.cleanup();
  });

  it('runs the shipped openbao.hcl on every node, joined by retry_join into 3 voters, and answers only over TLS', async () => {
    const servers = await cluster.servers();
    assert.deepEqual(servers.map((s) => s.node_id).sort(), ['vault-0', 'vault-1', 'vault-2']);
    assert.ok(servers.every((s) => s.voter), 'all three are voters');
    assert.equal(servers.filter((s) => s.leader).length, 1, 'one leader');
    const shipped = readFileSync(join(PRODUCTION_DIR, 'openbao.hcl'), 'utf8').split('\n');
    for (const [file, seal] of cluster.configFiles) {
      const rendered = readFileSync(file, 'utf8').split('\n');
      // Only addresses, ports and paths differ: same lines, same keys, same stanzas.
      assert.equal(rendered.length, shipped.length, file);
      rendered.forEach((line, i) => assert.equal(line.replace(/".*"/, '""'), shipped[i].replace(/".*"/, '""'), `${file}:${i + 1}`));
      assert.equal(rendered.filter((l) => /retry_join \{/.test(l)).length, 3);
      assert.match(readFileSync(seal, 'utf8'), /seal "static"/);
    }
    for (const address of cluster.addresses) {
      const plain = await nodeHealth(address.replace('https:', 'http:'));
      assert.equal(plain.state, 'unreachable', `${address} does not answer plain http`);
      const untrusted = await nodeHealth(address);
      assert.equal(untrusted.unreachable, 'tls', `${address} is refused without the cluster's CA: ${untrusted.error}`);
    }
  });

  it("takes a snapshot through secdr's snapshot activity over TLS from the active node: verified, uploaded once, cataloged", async () => {
    const leader = await cluster.active();
    const r = await takeSnapshotOnce(config);
    assert.equal(r.node, leader);
    assert.ok(r.bytes > 15 * MiB, `snapshot of ${r.bytes} bytes holds the seeded data`);
    assert.deepEqual(r.uploads.map((u) => u.storage), ['s3']);
    await assertStoredAndVerified(r);
    assert.deepEqual(await snapshotObjects(), [`${PREFIX}prod/${r.fileName}`]);
    assert.deepEqual(await openUploads(), []);
  });

  it('restores a snapshot of the cluster into the DR target started from dr-target.hcl: unsealed by the shared seal, the canary reads back over TLS, then sealed', async () => {
    const dr = await startDrTarget({ dir: join(tmp.dir, 'dr'), seal: { type: 'static', keyFile: sealKey } });
    try {
      const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });
      const target = { name: 'dr', address: dr.address, caFile: dr.caFile, seal: 'auto', verifier: approle(creds.verifier), restorer: approle(creds.restorer), after: 'seal' };
      const vault = createVaultActivities(testConfig(tmp.dir, { ...configOverrides, restore: { targets: [target] } }));
      // Outside an activity context the activities run as the CLI runs them (heartbeats are no-ops).
      const canary = await vault.writeCanary({ cluster: 'prod' });
      const r = await vault.takeSnapshot({ cluster: 'prod', storages: ['s3'], canary });
      const file = join(tmp.dir, 'download', `dr-${r.fileName}`);
      const store = createStore(config.storage[0]);
      const { key } = (await store.list('prod')).find((e) => e.key.endsWith(r.fileName))!;
      await store.get(key, file);
      const restored = await vault.restoreSnapshot({ target: 'dr', candidates: [{ key, file }] });
      assert.equal(restored.used, key);
      await waitForActive(dr.address, 120_000, dr.caFile);
      // The restore applies in the background: the verifier (from the restored data) logs in once it has.
      const read = await waitFor('the canary on the DR target', () => vault.verifyCanary({ target: 'dr', cluster: 'prod', expectedNonce: canary.nonce }), { timeoutMs: 60_000, intervalMs: 1000 });
      assert.equal(read.nonce, canary.nonce);
      const retired = await vault.retireTarget({ target: 'dr' });
      assert.equal(retired.after, 'seal');
      assert.equal((await nodeHealth(dr.address, dr.caFile)).state, 'sealed', 'no live copy of production stays up');
    } finally {
      await dr.process.stop();
    }
  });

  it('a step-down of the active node while the snapshot streams ends in one verified snapshot, never a partial one', async () => {
    const before = await snapshotObjects();
    const leader = await cluster.active();
    let steppedAt: number | undefined;
    let stepDown: Promise<void> | undefined;
    let received = 0;
    const { failures, result } = await takeSnapshotWithRetries(config, (attempt, d) => {
      if (attempt === 1) received = d.bytes ?? received;
      if (attempt === 1 && !stepDown && received > MiB) {
        stepDown = vaultApi(leader, { token: cluster.rootToken, caFile: cluster.caFile })
          .write('sys/step-down', {})
          // What the stream had delivered when the step-down was done.
          .then(() => void (steppedAt = received));
      }
    });
    await stepDown;
    assert.ok(steppedAt !== undefined && steppedAt < result.bytes, `the leader stepped down with the stream in flight (at ${steppedAt} of ${result.bytes} bytes)`);
    const newLeader = await cluster.active();
    assert.notEqual(newLeader, leader, 'leadership moved');
    // OpenBao streams the raft snapshot it opened before the step-down: the attempt completes and verifies.
    // Were it cut instead, the failure must be typed and retryable and the retry must reach the new leader.
    for (const f of failures) assert.equal(f.type, FailureType.SnapshotStreamIncomplete, f.message);
    if (failures.length > 0) assert.equal(result.node, newLeader);
    await assertStoredAndVerified(result);
    assert.deepEqual((await snapshotObjects()).filter((k) => !before.includes(k)), [`${PREFIX}prod/${result.fileName}`], 'one new object');
    assert.deepEqual(await openUploads(), [], 'no multipart upload left open');
  });

  it('the active node dying mid-stream fails that attempt as a retryable SnapshotStreamIncomplete with nothing stored; the retry waits for the new leader and stores one verified snapshot', async () => {
    const before = await snapshotObjects();
    const leader = await cluster.active();
    const victim = cluster.nodes.find((n) => n.address === leader)!;
    let killedAt: number | undefined;
    const waits: unknown[] = [];
    const { failures, result } = await takeSnapshotWithRetries(config, (attempt, d) => {
      // Past the first part, so a multipart upload is open in S3 when the stream breaks.
      if (attempt === 1 && killedAt === undefined && (d.bytes ?? 0) > PART_SIZE + 2 * MiB) {
        killedAt = d.bytes;
        // SIGKILL to the process group: a crashed leader, no graceful end to its streams.
        process.kill(-victim.process.pid!, 'SIGKILL');
      }
      if (attempt > 1 && (d as { waitingFor?: string }).waitingFor) waits.push(d);
    });
    assert.ok(killedAt !== undefined, 'the leader was killed mid-stream');
    // Only the cut attempt fails: the first retry, 5 s later, lands in the election (seconds long with
    // the shipped raft timeouts) and waits for the new leader instead of failing VaultNoActiveNode.
    assert.equal(failures.length, 1, `one failed attempt, then success: ${failures.map((f) => f.message).join(' | ')}`);
    const [cut] = failures;
    assert.equal(cut.type, FailureType.SnapshotStreamIncomplete, cut.message);
    assert.equal(cut.nonRetryable, false);
    assert.ok(!(retry.nonRetryableErrorTypes as string[]).includes(cut.type!), 'the streaming profile retries it');
    assert.match(cut.message, new RegExp(`stream from ${leader.replace(/[.]/g, '\\.')} broke after \\d+ bytes`));
    assert.match(cut.message, /multipart upload .* was aborted/);
    assert.match(cut.message, /nothing was stored or cataloged/);
    assert.notEqual(result.node, leader, 'the retry took the snapshot from the new leader');
    assert.ok((await states()).includes('active'));
    await assertStoredAndVerified(result);
    assert.deepEqual((await snapshotObjects()).filter((k) => !before.includes(k)), [`${PREFIX}prod/${result.fileName}`], 'exactly one new object: the verified one');
    assert.deepEqual(await openUploads(), [], 'the cut attempt left no multipart upload');
    console.log(`      leader killed at ${killedAt} bytes; ${failures.length} failed attempt(s); ${waits.length} election-wait heartbeats on the retry`);
  });
});
