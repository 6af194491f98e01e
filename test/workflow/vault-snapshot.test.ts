import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { Canary, TakenSnapshot } from '../../activities/vault';
import { verifySnapshotFile } from '../../lib/snapshot/verify-file';
import { FailureType } from '../../lib/failure-types';
import { createStore } from '../../lib/storage/snapshot-store';
import { createWorker } from '../../workers/worker';
import { vaultSnapshotWorkflow } from '../../workflows';
import { timeSkippingSuite } from '../harness/time-skipping-suite';

const FIXTURE = join(__dirname, '..', 'fixtures', 'snapshots', 'openbao-2.7.2-small.snap');

describe('vaultSnapshotWorkflow (time-skipping; Vault stubbed, storage and retention real on a local store)', function () {
  const suite = timeSkippingSuite('wf-snapshot', (dir) => ({
    clusters: [
      {
        name: 'test',
        nodes: ['http://127.0.0.1:1'],
        auth: { method: 'token', token: { env: 'UNUSED' } },
        stagingDir: join(dir, 'staging'),
      },
    ],
    retention: { keepLast: 1, daily: 2, weekly: 0, monthly: 0 },
  }));
  const { config } = suite;
  const staging = join(suite.dir, 'staging');
  mkdirSync(staging, { recursive: true });

  // Retention counts days from the real clock, so the staged snapshots are dated relative to it.
  const base = Math.floor(Date.now() / 1000) * 1000;
  const dayOf = (daysAgo: number) => new Date(base - daysAgo * 86_400_000);
  const nameOf = (daysAgo: number) =>
    `vault-test-${dayOf(daysAgo).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.snap`;

  /**
   * The real fixture snapshot, staged and stored (the one-pass step's outcome) as if streamed
   * from Vault `daysAgo` days ago.
   */
  async function staged(daysAgo: number, canary: Canary): Promise<TakenSnapshot> {
    const fileName = nameOf(daysAgo);
    const file = join(staging, fileName);
    copyFileSync(FIXTURE, file);
    const i = await verifySnapshotFile(file);
    const taken = {
      cluster: 'test',
      node: 'http://127.0.0.1:1',
      file,
      fileName,
      takenAt: dayOf(daysAgo).toISOString(),
      bytes: statSync(file).size,
      sha256: i.archiveSha256,
      raftIndex: i.index,
      raftTerm: i.term,
      keys: i.keys,
    };
    const storage = config.storage[0].name;
    const put = await createStore(config.storage[0]).put(file, {
      ...taken,
      key: fileName,
      verifiedAt: new Date().toISOString(),
      canaryNonce: canary.nonce,
      canaryWrittenAt: canary.writtenAt,
      storage,
    });
    return { ...taken, uploads: [{ storage, location: put.location }] };
  }

  async function run(activities: object) {
    const taskQueue = `snap-${randomUUID()}`;
    const worker = await createWorker({
      config,
      connection: suite.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities,
    });
    return worker.runUntil(
      suite.env.client.workflow.execute(vaultSnapshotWorkflow, {
        taskQueue,
        workflowId: randomUUID(),
        args: [{ cluster: 'test', storages: ['local'] }],
      }),
    );
  }

  const vaultStub = (day: number) => ({
    async findActiveNode() {
      return 'http://127.0.0.1:1';
    },
    async writeCanary() {
      return { nonce: `nonce-${day}`, writtenAt: dayOf(day).toISOString() };
    },
    async takeSnapshot(input: { canary: Canary }) {
      return staged(day, input.canary);
    },
  });

  it('uploads, catalogs and applies retention on every run without ever deleting the newest verified snapshot', async () => {
    for (const daysAgo of [4, 3, 2, 1, 0]) {
      const result = await run(vaultStub(daysAgo));
      assert.equal(result.key, nameOf(daysAgo));
      const catalog = await createStore(config.storage[0]).list('test');
      assert.equal(catalog[0].key.endsWith(result.key), true, 'the newest snapshot is always in the catalog');
    }
    const catalog = await createStore(config.storage[0]).list('test');
    // Policy keepLast 1, daily 2: today's and yesterday's snapshots stay, the three older ones went.
    assert.deepEqual(
      catalog.map((c) => c.key.split('/').pop()),
      [nameOf(0), nameOf(1)],
    );
    assert.equal(catalog[0].canaryNonce, 'nonce-0');
  });

  it('refuses a sealed cluster at once with a typed, readable failure and takes no snapshot', async () => {
    let snapshots = 0;
    const sealed = {
      async findActiveNode(): Promise<string> {
        throw ApplicationFailure.create({
          type: FailureType.VaultSealed,
          message: 'cluster test: sealed, no active node (http://127.0.0.1:1: sealed); unseal it before snapshotting',
        });
      },
      async takeSnapshot(input: { canary: Canary }) {
        snapshots++;
        return staged(0, input.canary);
      },
    };
    await assert.rejects(run(sealed), (err: WorkflowFailedError) => {
      const cause = err.cause as ApplicationFailure & { cause?: ApplicationFailure };
      assert.equal(cause.cause?.type, FailureType.VaultSealed);
      assert.match(cause.cause?.message ?? '', /unseal it before snapshotting/);
      return true;
    });
    assert.equal(snapshots, 0);
  });
});
