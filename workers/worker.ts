import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { procedureKind } from '../procedures';
import type { SecdrConfig } from '../lib/config/schema';
import { dataConverterFor } from '../lib/temporal/connect';
import { newHostTaskQueue, setHostTaskQueue } from '../lib/temporal/host-queue';

export interface WorkerOptions {
  config: SecdrConfig;
  connection: NativeConnection;
  namespace: string;
  /** Overrides config.temporal.taskQueue (tests use a unique queue per run). */
  taskQueue?: string;
  /** Extra or replacement activities (unit tests stub external systems). */
  activities?: object;
}

/** Builds the secdr worker: all workflows, all activities, the encrypting codec. */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? opts.config.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: { ...createActivities(opts.config, procedureKind), ...opts.activities },
    dataConverter: dataConverterFor(opts.config),
    // Streaming steps heartbeat; give them time to wind down on shutdown.
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * The second worker of a `secdr worker` process: activities only, on this process's own
 * task queue (lib/temporal/host-queue.ts), for the steps that read a file an earlier step
 * staged on this host.
 */
export async function createHostWorker(opts: WorkerOptions & { hostTaskQueue: string }): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.hostTaskQueue,
    activities: { ...createActivities(opts.config, procedureKind), ...opts.activities },
    dataConverter: dataConverterFor(opts.config),
    shutdownGraceTime: '10 seconds',
  });
}

/**
 * Both workers of one host, as `secdr worker` runs them: the shared-queue worker and this
 * process's host-queue worker (the host queue becomes the one this process's activities name).
 */
export async function createHostWorkers(opts: WorkerOptions): Promise<{ worker: Worker; hostWorker: Worker; hostQueue: string }> {
  const hostQueue = newHostTaskQueue(opts.taskQueue ?? opts.config.temporal.taskQueue);
  setHostTaskQueue(hostQueue);
  return { worker: await createWorker(opts), hostWorker: await createHostWorker({ ...opts, hostTaskQueue: hostQueue }), hostQueue };
}
