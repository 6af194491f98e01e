import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { SecdrConfig } from '../../lib/config/schema';
import type { RestoreReport } from '../../lib/reports/restore';
import { dataConverterFor } from '../../lib/temporal/connect';
import { vaultRestore } from '../../procedures/vault-restore';
import { vaultSnapshot } from '../../procedures/vault-snapshot';
import { createWorker } from '../../workers/worker';
import { vaultRestoreWorkflow, vaultSnapshotWorkflow } from '../../workflows';
import type { SnapshotResult } from '../../workflows/vault-snapshot';

/** An AppRole credential reference to the role-id and secret-id files `seedSourceCluster` wrote. */
export const approle = (c: { roleIdFile: string; secretIdFile: string }) => ({ method: 'approle', roleId: { file: c.roleIdFile }, secretId: { file: c.secretIdFile } });

export interface RestoreRig {
  client: Client;
  /** Runs the snapshot procedure of cluster `src` into every configured storage. */
  snapshot(): Promise<SnapshotResult>;
  /** Runs the restore procedure of cluster `src` into `target` (input as the CLI builds it, polling each second), plus `over`. */
  restore(target: string, opts?: { storage?: string; over?: object }): Promise<RestoreReport>;
  close(): Promise<void>;
}

/**
 * The production worker in this process on the config's task queue, and a client with the
 * same codec, against a Temporal server: what the restore integration tests drive.
 */
export async function startRestoreWorker(temporalAddress: string, config: SecdrConfig): Promise<RestoreRig> {
  const taskQueue = config.temporal.taskQueue;
  const native = await NativeConnection.connect({ address: temporalAddress });
  const worker = await createWorker({ config, connection: native, namespace: 'default' });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress }), dataConverter: dataConverterFor(config) });
  return {
    client,
    snapshot: () => client.workflow.execute(vaultSnapshotWorkflow, { taskQueue, workflowId: `snap-${randomUUID()}`, args: [vaultSnapshot.input(config, { cluster: 'src' })] }),
    restore: (target, opts = {}) =>
      client.workflow.execute(vaultRestoreWorkflow, {
        taskQueue,
        workflowId: `restore-${target}-${randomUUID()}`,
        args: [{ ...vaultRestore.input(config, { cluster: 'src', target, storage: opts.storage }), pollSeconds: 1, ...opts.over }],
      }),
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close().catch(() => undefined);
      await client.connection.close().catch(() => undefined);
    },
  };
}
