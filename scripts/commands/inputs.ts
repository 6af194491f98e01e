import type { SecdrConfig } from '../../lib/config/schema';
import type { RestoreInput } from '../../workflows/vault-restore';
import type { SnapshotInput } from '../../workflows/vault-snapshot';

/** Workflow inputs built from the config: names and settings only, never credentials. */
export function snapshotInput(config: SecdrConfig, cluster: string): SnapshotInput {
  return { cluster, storages: config.storage.map((s) => s.name) };
}

export function restoreInput(
  config: SecdrConfig,
  opts: { cluster: string; target: string; storage?: string; snapshot?: string },
): RestoreInput {
  const target = config.restore.targets.find((t) => t.name === opts.target);
  return {
    cluster: opts.cluster,
    target: opts.target,
    storage: opts.storage ?? config.storage[0].name,
    snapshot: opts.snapshot ?? 'latest',
    slo: config.restore.slo,
    fallbackAttempts: config.restore.fallbackAttempts,
    checkDatabase: Boolean(target?.database),
  };
}

/** Workflow ids that sort by time and say what ran where. */
export const snapshotWorkflowId = (cluster: string, at = new Date()) => `vault-snapshot-${cluster}-${at.toISOString().replace(/[:.]/g, '')}`;
export const restoreWorkflowId = (cluster: string, target: string, at = new Date()) =>
  `vault-restore-${cluster}-to-${target}-${at.toISOString().replace(/[:.]/g, '')}`;
