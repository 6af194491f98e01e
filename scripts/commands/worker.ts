import type { SecdrConfig } from '../../lib/config/schema';
import { connectWorkerConnection } from '../../lib/temporal/connect';
import { createWorker } from '../../workers/worker';

/** `secdr worker`: serves every workflow and activity on the configured task queue until SIGINT/SIGTERM. */
export async function workerCommand(config: SecdrConfig): Promise<void> {
  const { connection, namespace } = await connectWorkerConnection();
  const worker = await createWorker({ config, connection, namespace });
  console.log(`secdr worker polling task queue "${config.temporal.taskQueue}" in namespace "${namespace}"`);
  // The SDK runtime shuts the worker down gracefully on SIGINT/SIGTERM.
  await worker.run();
  await connection.close();
}
