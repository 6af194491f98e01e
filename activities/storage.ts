import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { heartbeat, runScope } from './activity-context';
import { clusterNamed, storageNamed } from '../lib/config/lookup';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { hostTaskQueue } from '../lib/temporal/host-queue';
import { planLocalRetention, planRetention } from '../lib/storage/retention';
import { createStore, type SnapshotMeta, type SnapshotStore } from '../lib/storage/snapshot-store';
import { SnapshotCorruptError } from '../lib/snapshot/corrupt';
import { verifySnapshotFile } from '../lib/snapshot/verify-file';

/**
 * Snapshot storage activities: catalog, download with re-verification, retention. Uploading is
 * part of the one-pass snapshot step (`takeSnapshot` in vault.ts, lib/snapshot/take-and-store.ts).
 */
export function createStorageActivities(config: SecdrConfig, storeFor: (name: string) => SnapshotStore = defaultStores(config)) {
  return {
    /** Verified snapshots of a cluster in a storage, newest first. */
    async listSnapshots(input: { storage: string; cluster: string }): Promise<SnapshotMeta[]> {
      return storeFor(input.storage).list(input.cluster);
    },

    /** Downloads into the cluster's staging dir and verifies checksum and archive again. */
    async downloadSnapshot(input: { storage: string; key: string }): Promise<{ file: string; bytes: number; raftIndex: number; hostTaskQueue?: string }> {
      const store = storeFor(input.storage);
      const cluster = clusterForKey(config, input.key);
      const dir = join(cluster.stagingDir, 'restore');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // One file per run: two restores of the same snapshot on one host never share (or delete) a copy.
      const file = join(dir, `${runScope()}${input.key.split('/').pop()!}`);
      const meta = await store.get(input.key, file, (bytes) => heartbeat({ bytes }));
      try {
        const inspection = await verifySnapshotFile(file);
        // The restore that reads this file must run here: see lib/temporal/host-queue.ts.
        return { file, bytes: meta.bytes, raftIndex: inspection.index, hostTaskQueue: hostTaskQueue() };
      } catch (err) {
        rmSync(file, { force: true });
        if (err instanceof SnapshotCorruptError) {
          throw fail(FailureType.SnapshotCorrupt, `${err.message} (downloaded from ${input.storage})`, { reason: err.reason, key: input.key });
        }
        throw err;
      }
    },

    /** Grandfather-father-son retention; never deletes the newest verified snapshot. */
    async applyRetention(input: { storage: string; cluster: string }): Promise<{ kept: number; deleted: string[] }> {
      const store = storeFor(input.storage);
      const plan = planRetention(await store.list(input.cluster), config.retention, new Date());
      for (const d of plan.delete) await store.delete(d.key);
      return { kept: plan.keep.length, deleted: plan.delete.map((d) => d.key) };
    },

    /** Removes staged local copies older than localRetentionDays, never `keep` or the newest. */
    async cleanStaging(input: { cluster: string; keep?: string }): Promise<{ deleted: string[] }> {
      const cluster = clusterNamed(config, input.cluster);
      let names: string[];
      try {
        names = readdirSync(cluster.stagingDir).filter((n) => n.endsWith('.snap'));
      } catch {
        return { deleted: [] };
      }
      const files = names.map((n) => join(cluster.stagingDir, n)).map((path) => ({ path, mtimeMs: statSync(path).mtimeMs }));
      const plan = planLocalRetention(files, cluster.localRetentionDays, new Date());
      const deleted = plan.filter((p) => p !== input.keep);
      for (const path of deleted) rmSync(path, { force: true });
      return { deleted };
    },
  };
}

function clusterForKey(config: SecdrConfig, key: string) {
  const name = key.split('/').pop()!.replace(/^vault-/, '');
  const cluster = config.clusters.find((c) => name.startsWith(`${c.name}-`));
  if (!cluster) throw fail(FailureType.InvalidInput, `snapshot key ${key} does not name a configured cluster (expected vault-<cluster>-YYYYMMDD-HHMMSS.snap)`);
  return cluster;
}

function defaultStores(config: SecdrConfig): (name: string) => SnapshotStore {
  const stores = new Map<string, SnapshotStore>();
  return (name) => {
    let store = stores.get(name);
    if (!store) {
      store = createStore(storageNamed(config, name));
      stores.set(name, store);
    }
    return store;
  };
}
