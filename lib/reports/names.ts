import type { ProcedureReport } from './types';

/** `20261126T020000Z` from an ISO time: the one timestamp format in file and object names. */
export function compactStamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/**
 * `<procedure>-<cluster>-<stamp>`; restores keep their historical `restore-<cluster>-…`
 * name so older tooling (and the metrics bootstrap) still finds them.
 */
export function reportBaseName(r: Pick<ProcedureReport, 'procedure' | 'cluster' | 'startedAt'>): string {
  const name = r.procedure === 'vault-restore' ? 'restore' : r.procedure;
  return [name, r.cluster, compactStamp(r.startedAt)].filter(Boolean).join('-');
}
