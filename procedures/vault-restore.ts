import type { RestoreReport } from '../lib/reports/restore';
import type { RestoreInput } from '../workflows/vault-restore';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';

export const vaultRestore: ProcedureEntry<RestoreInput> = {
  name: 'vault-restore',
  kind: 'restore',
  workflowType: 'vaultRestoreWorkflow',
  summary: 'restore the newest (or a named) verified snapshot into a target and verify secrets read back',
  options: [
    { flags: '--target <name|url>', description: 'restore target from the config (default: restore.testTarget)' },
    { flags: '--cluster <name>', description: 'source cluster (default: the first)' },
    { flags: '--snapshot <latest|key>', description: 'snapshot to restore', default: 'latest' },
    { flags: '--storage <name>', description: 'storage to restore from (default: the first)' },
  ],
  input(config, opts) {
    const cluster = (opts.cluster as string | undefined) ?? config.clusters[0].name;
    if (!config.clusters.some((c) => c.name === cluster)) {
      throw invalidInput(`--cluster ${cluster}: no such cluster in the config (configured: ${config.clusters.map((c) => c.name).join(', ')})`);
    }
    const wanted = (opts.target as string | undefined) ?? config.restore.testTarget;
    if (!wanted) throw invalidInput('--target: name a restore target from restore.targets (or set restore.testTarget in the config)');
    const target = config.restore.targets.find((t) => t.name === wanted || t.address.replace(/\/$/, '') === wanted.replace(/\/$/, ''));
    if (!target) {
      throw invalidInput(
        `--target ${wanted}: not a configured restore target (name or address); configured: ${config.restore.targets.map((t) => `${t.name} (${t.address})`).join(', ') || 'none'}`,
      );
    }
    const storage = (opts.storage as string | undefined) ?? config.storage[0].name;
    if (!config.storage.some((s) => s.name === storage)) {
      throw invalidInput(`--storage ${storage}: no such storage in the config (configured: ${config.storage.map((s) => s.name).join(', ')})`);
    }
    return {
      cluster,
      target: target.name,
      storage,
      otherStorages: config.storage.map((s) => s.name).filter((s) => s !== storage),
      snapshot: (opts.snapshot as string | undefined) ?? 'latest',
      slo: config.restore.slo,
      fallbackAttempts: config.restore.fallbackAttempts,
      checkDatabase: Boolean(target.database),
    };
  },
  workflowId: (i, at) => `vault-restore-${i.cluster}-to-${i.target}-${idStamp(at)}`,
  cluster: (i) => i.cluster,
  schedules(config) {
    const target = config.restore.testTarget;
    if (!target || !config.restore.testSchedule) return [];
    return config.clusters.map((c) => ({
      scheduleId: `secdr-test-restore-${c.name}`,
      cron: config.restore.testSchedule,
      input: this.input(config, { cluster: c.name, target }),
      workflowId: `vault-restore-${c.name}-to-${target}`,
    }));
  },
  summarize: (r) => {
    const x = r as RestoreReport;
    return `restore ${x.outcome}: ${x.snapshot ?? 'no snapshot'} → ${x.target}`;
  },
};
