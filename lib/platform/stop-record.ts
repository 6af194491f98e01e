import type { ComponentState, StopRecord } from './adapter';

/**
 * The record of a stop as this run made it. A retry after a killed worker finds the component
 * already stopped by the attempt that died, and the component cannot tell what it had; `before`
 * (the state the workflow read before the stop) can: if it was running, or had replicas
 * wanted, this run stopped it and the undo must start it again, to that replica count.
 */
export function stoppedByThisRun(record: StopRecord, before: ComponentState | undefined): StopRecord {
  if (!record.wasStopped || !before) return record;
  const hadIt = before.replicas ? before.replicas.desired > 0 : before.running;
  return hadIt ? { ...record, wasStopped: undefined, previousReplicas: before.replicas?.desired ?? record.previousReplicas } : record;
}
