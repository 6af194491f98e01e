import type { ProcedureReport } from './types';

/** The restore's own report fields, beside the frame's. */
export interface RestoreDetails {
  target: string;
  /** The storage the restored copy came from: the requested one unless it was skipped. */
  storage: string;
  snapshot?: string;
  /** Snapshots not used, and why (failed verification in every storage, rejected by Vault). */
  skipped: { key: string; reason: string }[];
  /**
   * Storages passed over, and why: unreachable (then `key` is absent and it was not asked
   * again), or its copy of `key` failed verification or is not in its catalog.
   */
  storagesSkipped?: { storage: string; key?: string; reason: string }[];
  checks: { name: string; ok: boolean; detail?: string }[];
  secretsReadableSeconds?: number;
  wholeRestoreSeconds?: number;
  /** Seconds between the canary write (just before the snapshot) and restore start: the data-loss window. */
  recoveryPointSeconds?: number;
}

export type RestoreReport = ProcedureReport & RestoreDetails;

export const isRestoreReport = (r: ProcedureReport): r is RestoreReport => r.procedure === 'vault-restore';
