import { fail, FailureType } from '../fail';
import type { SnapshotMeta } from './types';

/**
 * Key layout shared by every store:
 *   <prefix><cluster>/vault-<cluster>-YYYYMMDD-HHMMSS.snap          the archive
 *   <prefix><cluster>/catalog/vault-<cluster>-YYYYMMDD-HHMMSS.snap.json   its SnapshotMeta
 * The catalog entry is the only record that a snapshot was verified; there is no other database.
 */
const SNAPSHOT_NAME = /^vault-([a-z0-9][a-z0-9-]{0,62})-(\d{8}-\d{6})\.snap$/;

/** `YYYYMMDD-HHMMSS` in UTC, the stamp the snapshot activity puts into file names. */
export function snapshotStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** `vault-<cluster>-YYYYMMDD-HHMMSS.snap` */
export function snapshotName(cluster: string, date: Date): string {
  return `vault-${cluster}-${snapshotStamp(date)}.snap`;
}

/** `<prefix><cluster>/vault-<cluster>-YYYYMMDD-HHMMSS.snap`; prefix defaults to none. */
export function snapshotKey(cluster: string, date: Date, prefix = ''): string {
  return `${prefix}${cluster}/${snapshotName(cluster, date)}`;
}

const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Rejects names that could not come from the config (and could escape the store's directory). */
export function checkClusterName(cluster: string, where: string): void {
  if (!CLUSTER_NAME.test(cluster)) {
    throw fail(FailureType.InvalidInput, `cluster name "${cluster}" for ${where} must be lower-case letters, digits and dashes (max 63), as in the config`);
  }
}

/** `<prefix><cluster>/catalog/` */
export function catalogPrefix(prefix: string, cluster: string): string {
  return `${prefix}${cluster}/catalog/`;
}

export interface ResolvedKey {
  /** Full object key, `<prefix><cluster>/<name>`. */
  key: string;
  /** Key of the catalog entry for it. */
  catalogKey: string;
  cluster: string;
  name: string;
}

/**
 * Accepts a full key or just the file name (`vault-<cluster>-….snap`, as the snapshot
 * step names it) and returns where it lives in a store with this prefix. Anything else
 * (another prefix, another directory, path tricks) is rejected rather than guessed at.
 */
export function resolveKey(prefix: string, keyOrName: string, where: string): ResolvedKey {
  const name = keyOrName.slice(keyOrName.lastIndexOf('/') + 1);
  const m = SNAPSHOT_NAME.exec(name);
  if (!m) {
    throw fail(
      FailureType.InvalidInput,
      `snapshot key "${keyOrName}" in ${where} is not a snapshot name (expected vault-<cluster>-YYYYMMDD-HHMMSS.snap); pick a key from the catalog`,
    );
  }
  const cluster = m[1];
  const key = `${prefix}${cluster}/${name}`;
  if (keyOrName.includes('/') && keyOrName !== key) {
    throw fail(FailureType.InvalidInput, `snapshot key "${keyOrName}" is not where ${where} keeps it (expected ${key}); pick a key from the catalog`);
  }
  return { key, catalogKey: `${catalogPrefix(prefix, cluster)}${name}.json`, cluster, name };
}

/** Where `put` stores a snapshot: its key resolved, and its name checked against its metadata. */
export function resolveMetaKey(prefix: string, meta: Pick<SnapshotMeta, 'key' | 'cluster'>, where: string): ResolvedKey {
  const r = resolveKey(prefix, meta.key, where);
  if (r.cluster !== meta.cluster) {
    throw fail(FailureType.InvalidInput, `snapshot ${meta.key} is named for cluster ${r.cluster} but its metadata says ${meta.cluster}; fix the caller`);
  }
  return r;
}

/** The snapshot key a catalog entry's key refers to, or undefined when it is not a catalog entry. */
export function keyOfCatalogEntry(prefix: string, cluster: string, catalogKey: string): string | undefined {
  const dir = catalogPrefix(prefix, cluster);
  if (!catalogKey.startsWith(dir) || !catalogKey.endsWith('.json')) return undefined;
  const name = catalogKey.slice(dir.length, -'.json'.length);
  const m = SNAPSHOT_NAME.exec(name);
  return m && m[1] === cluster ? `${prefix}${cluster}/${name}` : undefined;
}
