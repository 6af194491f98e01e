import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * The task queue only this worker process polls. An activity that leaves a file in local
 * staging returns it, and the workflow sends the activity that reads the file there, so a
 * second worker on another host (added to scale) never receives a step whose file it does
 * not have. This is the worker-specific task queue pattern from the Temporal samples.
 */
let current: string | undefined;

/** `<task queue>@<host>-<random>`: unique per process, readable in the UI. */
export function newHostTaskQueue(taskQueue: string): string {
  return `${taskQueue}@${hostname()}-${randomUUID().slice(0, 8)}`;
}

export function setHostTaskQueue(queue: string | undefined): void {
  current = queue;
}

/** This process's host queue; undefined when it runs no host worker (unit tests, the CLI). */
export function hostTaskQueue(): string | undefined {
  return current;
}
