import { fail, FailureType } from '../fail';
import type { ClusterConfig, RestoreTarget, SecdrConfig, StorageConfig } from './schema';

function find<T extends { name: string }>(items: T[], name: string, what: string, field: string): T {
  const item = items.find((i) => i.name === name);
  if (!item) {
    throw fail(
      FailureType.InvalidInput,
      `unknown ${what} "${name}"; configured: ${items.map((i) => i.name).join(', ') || '(none)'}; add it under ${field} or fix the name`,
    );
  }
  return item;
}

export const clusterNamed = (c: SecdrConfig, name: string): ClusterConfig => find(c.clusters, name, 'cluster', 'clusters');
export const storageNamed = (c: SecdrConfig, name: string): StorageConfig => find(c.storage, name, 'storage', 'storage');
export const targetNamed = (c: SecdrConfig, name: string): RestoreTarget => find(c.restore.targets, name, 'restore target', 'restore.targets');
