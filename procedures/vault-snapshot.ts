import type { SnapshotInput, SnapshotResult } from '../workflows/vault-snapshot';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';

export const vaultSnapshot: ProcedureEntry<SnapshotInput> = {
  name: 'vault-snapshot',
  kind: 'backup',
  workflowType: 'vaultSnapshotWorkflow',
  summary: 'take a verified Vault snapshot and store it in every configured storage',
  input(config, opts) {
    const cluster = (opts.cluster as string | undefined) ?? config.clusters[0].name;
    if (!config.clusters.some((c) => c.name === cluster)) {
      throw invalidInput(`--cluster ${cluster}: no such cluster in the config (configured: ${config.clusters.map((c) => c.name).join(', ')})`);
    }
    return { cluster, storages: config.storage.map((s) => s.name) };
  },
  workflowId: (i, at) => `vault-snapshot-${i.cluster}-${idStamp(at)}`,
  cluster: (i) => i.cluster,
  schedules: (config) =>
    config.clusters.map((c) => ({
      scheduleId: `secdr-snapshot-${c.name}`,
      cron: c.schedule,
      input: { cluster: c.name, storages: config.storage.map((s) => s.name) },
      workflowId: `vault-snapshot-${c.name}`,
    })),
  summarize: (r) => {
    const s = r as SnapshotResult;
    return `snapshot ${s.key}: ${s.bytes} bytes, raft index ${s.raftIndex}, uploaded to ${s.uploads.map((u) => u.location).join(', ')}`;
  },
};
