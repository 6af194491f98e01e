import type { StorageConfig } from './config/schema';
import { createRecordStore, type RecordStore } from './storage/records';
import { FailureType, TypedError } from './failure-types';

/**
 * The last success of each procedure, kept in the snapshot storage (records/last-success/…)
 * so the freshness gauges survive a worker restart and a worker on another host sees it.
 */
export interface LastSuccess {
  procedure: string;
  cluster?: string;
  /** ISO time the procedure finished successfully. */
  at: string;
  workflowId: string;
}

const NO_CLUSTER = '_all';

export function lastSuccessPath(procedure: string, cluster?: string): string {
  return `last-success/${procedure}/${cluster ?? NO_CLUSTER}.json`;
}

/**
 * Writes the record to every storage. One storage down must not fail the run it records (a
 * restore from the second storage is the case): it throws (the activity retries) only when no
 * storage took the record, and otherwise returns what failed, for the log. Readers take the
 * newest record across storages.
 */
export async function saveLastSuccess(storages: StorageConfig[], rec: LastSuccess, storeFor: (s: StorageConfig) => RecordStore = createRecordStore): Promise<string[]> {
  const failed: string[] = [];
  for (const s of storages) {
    try {
      await storeFor(s).write(lastSuccessPath(rec.procedure, rec.cluster), `${JSON.stringify(rec, null, 2)}\n`);
    } catch (err) {
      failed.push(`storage ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failed.length === storages.length) throw new TypedError(FailureType.StorageRequestFailed, `the last success of ${rec.procedure} was written to no storage (${failed.join('; ')})`);
  return failed;
}

/** The newest record across storages, or undefined; unreadable storages are reported through warn. */
export async function loadLastSuccess(
  storages: StorageConfig[],
  procedure: string,
  cluster: string | undefined,
  warn: (m: string) => void,
  storeFor: (s: StorageConfig) => RecordStore = createRecordStore,
): Promise<LastSuccess | undefined> {
  let newest: LastSuccess | undefined;
  for (const s of storages) {
    try {
      const text = await storeFor(s).read(lastSuccessPath(procedure, cluster));
      if (!text) continue;
      const rec = JSON.parse(text) as LastSuccess;
      if (typeof rec.at !== 'string' || Number.isNaN(Date.parse(rec.at))) throw new TypedError(FailureType.EvidenceInvalid, `${lastSuccessPath(procedure, cluster)} has no valid "at" (an ISO time); the next success rewrites it`);
      if (!newest || Date.parse(rec.at) > Date.parse(newest.at)) newest = rec;
    } catch (err) {
      warn(`metrics: cannot read the last success of ${procedure}${cluster ? ` (${cluster})` : ''} in storage ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return newest;
}
