import type { ProcedureReport } from './types';

/** The restore's own report fields, beside the frame's. */
export interface RestoreDetails {
  target: string;
  storage: string;
  snapshot?: string;
  /** Snapshots not used, and why (failed verification, rejected by Vault). */
  skipped: { key: string; reason: string }[];
  checks: { name: string; ok: boolean; detail?: string }[];
  secretsReadableSeconds?: number;
  wholeRestoreSeconds?: number;
  /** Seconds between the canary write (just before the snapshot) and restore start: the data-loss window. */
  recoveryPointSeconds?: number;
}

export type RestoreReport = ProcedureReport & RestoreDetails;

export const isRestoreReport = (r: ProcedureReport): r is RestoreReport => r.procedure === 'vault-restore';
