import { ApplicationFailure, defineQuery, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createMetricsActivities } from '../activities/metrics';
import type { createStorageActivities } from '../activities/storage';
import type { createVaultActivities, TakenSnapshot } from '../activities/vault';
import { SA } from '../lib/search-attributes';
import { profiles } from './activity-profiles';
import { StepLog, type Step } from './steps';

type Vault = ReturnType<typeof createVaultActivities>;
type Storage = ReturnType<typeof createStorageActivities>;
type Metrics = ReturnType<typeof createMetricsActivities>;

const preflight = proxyActivities<Vault>(profiles.preflight);
const quick = proxyActivities<Vault>(profiles.quick);
const vaultStreaming = proxyActivities<Vault>(profiles.streaming);
const storageStreaming = proxyActivities<Storage>(profiles.streaming);
const retention = proxyActivities<Storage>(profiles.retention);
const metrics = proxyActivities<Metrics>(profiles.sideEffect);

export interface SnapshotInput {
  cluster: string;
  /** Storage names to upload to (a primary and a copy in another region, typically). */
  storages: string[];
}

export interface SnapshotResult {
  cluster: string;
  key: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  takenAt: string;
  canaryNonce: string;
  uploads: { storage: string; location: string; sseKmsKeyId?: string }[];
  retention: { storage: string; deleted: string[]; kept: number }[];
  steps: Step[];
}

export const snapshotStatusQuery = defineQuery<{ step?: string; steps: Step[] }>('status');

/**
 * Daily Vault snapshot: canary, stream + verify, upload with read-back to every
 * storage, retention, freshness metric. A snapshot is recorded in the catalog only
 * after it verified and read back intact.
 */
export async function vaultSnapshotWorkflow(input: SnapshotInput): Promise<SnapshotResult> {
  const log = new StepLog();
  setHandler(snapshotStatusQuery, () => ({ step: log.current?.name, steps: log.steps }));
  upsertSearchAttributes([
    { key: SA.cluster, value: input.cluster },
    { key: SA.procedure, value: 'vault-snapshot' },
  ]);
  if (input.storages.length === 0) {
    throw ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message: 'no storage given: name at least one configured storage' });
  }
  try {
    await log.run('find active node', () => preflight.findActiveNode({ cluster: input.cluster }), (n) => n);
    const canary = await log.run('write canary', () => quick.writeCanary({ cluster: input.cluster }), (c) => `nonce ${c.nonce}`);
    const snap: TakenSnapshot = await log.run(
      'stream and verify snapshot',
      () => vaultStreaming.takeSnapshot({ cluster: input.cluster }),
      (s) => `${s.fileName}: ${s.bytes} bytes, raft index ${s.raftIndex}, sha256 ${s.sha256.slice(0, 12)}…`,
    );
    const uploads: SnapshotResult['uploads'] = [];
    for (const storage of input.storages) {
      const up = await log.run(
        `upload to ${storage}`,
        () => storageStreaming.uploadSnapshot({ storage, snapshot: snap, canary }),
        (u) => `${u.location}${u.sseKmsKeyId ? ` (SSE-KMS ${u.sseKmsKeyId})` : ''}`,
      );
      uploads.push({ storage, location: up.location, sseKmsKeyId: up.sseKmsKeyId });
    }
    const kept: SnapshotResult['retention'] = [];
    for (const storage of input.storages) {
      const r = await log.run(
        `retention in ${storage}`,
        () => retention.applyRetention({ storage, cluster: input.cluster }),
        (r) => `kept ${r.kept}, deleted ${r.deleted.length}`,
      );
      kept.push({ storage, ...r });
    }
    await log.run('clean local staging', () => retention.cleanStaging({ cluster: input.cluster, keep: snap.file }));
    await log.run('record freshness metric', () => metrics.recordSnapshotSuccess({ cluster: input.cluster, at: snap.takenAt }));
    upsertSearchAttributes([{ key: SA.outcome, value: 'succeeded' }]);
    return {
      cluster: input.cluster,
      key: snap.fileName,
      bytes: snap.bytes,
      sha256: snap.sha256,
      raftIndex: snap.raftIndex,
      raftTerm: snap.raftTerm,
      takenAt: snap.takenAt,
      canaryNonce: canary.nonce,
      uploads,
      retention: kept,
      steps: log.steps,
    };
  } catch (err) {
    upsertSearchAttributes([{ key: SA.outcome, value: 'failed' }]);
    await metrics.recordFailure({ procedure: 'vault-snapshot', cluster: input.cluster, workflowId: workflowInfo().workflowId }).catch(() => undefined);
    throw err;
  }
}
