import type { StorageConfig } from './config/schema';
import { createRecordStore, type RecordStore } from './storage/records';

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

/** Writes the record to every storage; a storage that fails throws (the activity retries). */
export async function saveLastSuccess(storages: StorageConfig[], rec: LastSuccess, storeFor: (s: StorageConfig) => RecordStore = createRecordStore): Promise<void> {
  for (const s of storages) {
    await storeFor(s).write(lastSuccessPath(rec.procedure, rec.cluster), `${JSON.stringify(rec, null, 2)}\n`);
  }
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
      if (typeof rec.at !== 'string' || Number.isNaN(Date.parse(rec.at))) throw new Error(`record has no valid "at"`);
      if (!newest || Date.parse(rec.at) > Date.parse(newest.at)) newest = rec;
    } catch (err) {
      warn(`metrics: cannot read the last success of ${procedure}${cluster ? ` (${cluster})` : ''} in storage ${s.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return newest;
}
