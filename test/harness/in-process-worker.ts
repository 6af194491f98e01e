import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { SecdrConfig } from '../../lib/config/schema';
import { dataConverterFor } from '../../lib/temporal/connect';
import { createWorker } from '../../workers/worker';

export interface InProcessWorker {
  /** A client with the worker's codec, so tests read the same payloads the worker wrote. */
  client: Client;
  close(): Promise<void>;
}

/**
 * The production worker (createWorker) in this process against a real Temporal server, and a client
 * with the same codec. `taskQueue` overrides the config's; the namespace defaults to `default`.
 */
export async function startInProcessWorker(
  temporal: { address: string; namespace?: string },
  config: SecdrConfig,
  taskQueue?: string,
): Promise<InProcessWorker> {
  const namespace = temporal.namespace ?? 'default';
  const native = await NativeConnection.connect({ address: temporal.address });
  const worker = await createWorker({ config, connection: native, namespace, taskQueue });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace, dataConverter: dataConverterFor(config) });
  return {
    client,
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await client.connection.close().catch(() => undefined);
      await native.close().catch(() => undefined);
    },
  };
}
