import { defineQuery, proxyActivities } from '@temporalio/workflow';
import type { createStorageActivities } from '../activities/storage';
import type { createVaultActivities, TakenSnapshot } from '../activities/vault';
import { fail, FailureType } from '../lib/fail';
import type { ProcedureReport } from '../lib/reports/types';
import { profiles } from './activity-profiles';
import { runProcedure, type ProcedureStatus } from './frame';

type Vault = ReturnType<typeof createVaultActivities>;
type Storage = ReturnType<typeof createStorageActivities>;

const preflight = proxyActivities<Vault>(profiles.preflight);
const quick = proxyActivities<Vault>(profiles.quick);
const vaultStreaming = proxyActivities<Vault>(profiles.streaming);
const retention = proxyActivities<Storage>(profiles.retention);

export interface SnapshotInput {
  cluster: string;
  /** Storage names to upload to (a primary and a copy in another region, typically). */
  storages: string[];
}

/** The snapshot's own report fields, beside the frame's. */
export interface SnapshotDetails {
  key: string;
  bytes: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  takenAt: string;
  canaryNonce: string;
  uploads: { storage: string; location: string; sseKmsKeyId?: string }[];
  retention: { storage: string; deleted: string[]; kept: number }[];
}

export type SnapshotResult = ProcedureReport & SnapshotDetails & { cluster: string };

export const snapshotStatusQuery = defineQuery<ProcedureStatus>('status');

/**
 * Daily Vault snapshot: canary, stream + verify, upload with read-back to every
 * storage, retention, freshness metric. A snapshot is recorded in the catalog only
 * after it verified and read back intact.
 */
export async function vaultSnapshotWorkflow(input: SnapshotInput): Promise<SnapshotResult> {
  const d: SnapshotDetails = { key: '', bytes: 0, sha256: '', raftIndex: 0, raftTerm: 0, takenAt: '', canaryNonce: '', uploads: [], retention: [] };
  const report = await runProcedure({ procedure: 'vault-snapshot', cluster: input.cluster, failurePrefix: `snapshot of ${input.cluster} failed` }, d, async (p) => {
    if (input.storages.length === 0) throw fail(FailureType.InvalidInput, 'no storage given: name at least one configured storage');
    await p.step('find active node', () => preflight.findActiveNode({ cluster: input.cluster }), (n) => n);
    const canary = await p.step('write canary', () => quick.writeCanary({ cluster: input.cluster }), (c) => `nonce ${c.nonce}`);
    d.canaryNonce = canary.nonce;
    // One pass: the Vault stream goes into every storage while it is verified; cataloged only once verified and read back.
    const snap: TakenSnapshot = await p.step(
      'stream, verify and upload snapshot',
      () => vaultStreaming.takeSnapshot({ cluster: input.cluster, storages: input.storages, canary }),
      (s) => `${s.fileName}: ${s.bytes} bytes, raft index ${s.raftIndex}, sha256 ${s.sha256.slice(0, 12)}… to ${s.uploads.map((u) => `${u.location}${u.sseKmsKeyId ? ` (SSE-KMS ${u.sseKmsKeyId})` : ''}`).join(', ')}`,
    );
    Object.assign(d, { key: snap.fileName, bytes: snap.bytes, sha256: snap.sha256, raftIndex: snap.raftIndex, raftTerm: snap.raftTerm, takenAt: snap.takenAt });
    d.uploads.push(...snap.uploads);
    for (const storage of input.storages) {
      const r = await p.step(
        `retention in ${storage}`,
        () => retention.applyRetention({ storage, cluster: input.cluster }),
        (x) => `kept ${x.kept}, deleted ${x.deleted.length}`,
      );
      d.retention.push({ storage, ...r });
    }
    await p.step('clean local staging', () => retention.cleanStaging({ cluster: input.cluster, keep: snap.file }));
  });
  return { ...report, cluster: input.cluster };
}
