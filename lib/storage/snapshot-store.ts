import type { StorageConfig } from '../config/schema';
import { LocalSnapshotStore } from './local-store';
import { S3SnapshotStore } from './s3-store';
import type { SnapshotStore, StoreOptions } from './types';

export { snapshotKey, snapshotName } from './layout';
export type { SnapshotMeta, PutResult, SnapshotTarget, StreamingPut, SnapshotStore, StoreOptions } from './types';

/** A store for one configured storage; S3 credentials come from the default AWS provider chain. */
export function createStore(cfg: StorageConfig, options: StoreOptions = {}): SnapshotStore {
  return cfg.type === 's3' ? new S3SnapshotStore(cfg, options) : new LocalSnapshotStore(cfg, options);
}
