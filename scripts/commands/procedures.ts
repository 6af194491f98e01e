import type { SecdrConfig } from '../../lib/config/schema';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { runProcedureCommand, type RunOpts } from './run-procedure';

export type { RunOpts };

/** `secdr snapshot`: starts the snapshot workflow; with --wait follows it and exits 0/1. */
export async function snapshotCommand(config: SecdrConfig, cluster: string, opts: RunOpts): Promise<number> {
  return runProcedureCommand(config, vaultSnapshot, { cluster }, opts);
}

/** `secdr restore`: restore-and-verify into a configured target. */
export async function restoreCommand(
  config: SecdrConfig,
  opts: RunOpts & { cluster: string; target: string; snapshot?: string; storage?: string },
): Promise<number> {
  return runProcedureCommand(config, vaultRestore, opts as unknown as Record<string, string | boolean | undefined>, opts);
}
