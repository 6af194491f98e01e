import type { SecdrConfig } from '../lib/config/schema';
import { componentByName, platformFor, type ComponentState, type StopRecord } from '../lib/platform';
import { cancellationSignal, heartbeat } from './activity-context';

/** Heartbeat period while an adapter waits (rollout, readiness): well inside any heartbeatTimeout. */
const HEARTBEAT_MS = 5_000;

async function withHeartbeat<T>(what: string, run: () => Promise<T>): Promise<T> {
  heartbeat(what);
  const timer = setInterval(() => heartbeat(what), HEARTBEAT_MS);
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Stop, start and inspect configured components through their platform adapter.
 * Inputs and results carry component names and StopRecords only (plain data, never a
 * credential): kubeconfigs and the like are read from the worker's own config.
 */
export function createPlatformActivities(config: SecdrConfig) {
  const adapter = (component: string) => platformFor(componentByName(config, component), { signal: cancellationSignal() });
  return {
    /** Stops the component and waits until it no longer serves; the record is what startComponent needs to put it back. */
    async stopComponent({ component }: { component: string }): Promise<StopRecord> {
      return withHeartbeat(`stopping ${component}`, () => adapter(component).stop());
    },
    /** Puts the component back as `record` says (or simply starts it) and waits until it is ready. */
    async startComponent({ component, record }: { component: string; record?: StopRecord }): Promise<ComponentState> {
      return withHeartbeat(`starting ${component}`, () => adapter(component).start(record));
    },
    async componentStatus({ component }: { component: string }): Promise<ComponentState> {
      return adapter(component).status();
    },
  };
}
