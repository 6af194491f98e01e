import { Context } from '@temporalio/activity';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { componentByName, platformFor, type ComponentState, type StopRecord } from '../lib/platform';
import { stoppedByThisRun } from '../lib/platform/stop-record';
import { readCertificate, requestRenewal, type CertificateRef, type CertificateStatus } from '../lib/platform/cert-manager';
import { cancellationSignal, heartbeat } from './activity-context';

/** Heartbeat period while an adapter waits (rollout, readiness): well inside any heartbeatTimeout. */
const HEARTBEAT_MS = 5_000;

/** The StopRecord an earlier attempt of this activity heartbeated just before it stopped the component. */
function earlierAttemptRecord(): StopRecord | undefined {
  try {
    const details = Context.current().info.heartbeatDetails as unknown;
    return details && typeof details === 'object' && 'adapter' in details ? (details as StopRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Heartbeats while `run` waits (rollout, readiness), so a dead worker is noticed in time.
 * `run` may replace the details sent (`keep`): the last details are what a retry sees.
 */
async function withHeartbeat<T>(initial: unknown, run: (keep: (details: unknown) => void) => Promise<T>): Promise<T> {
  let details = initial;
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), HEARTBEAT_MS);
  try {
    return await run((d) => {
      details = d;
      heartbeat(d);
    });
  } finally {
    clearInterval(timer);
  }
}

/** Which Certificate: by name, in the component's namespace unless given. */
export interface CertificateInput {
  /** A kubernetes component whose connection (kubeconfig, context, in-cluster) reaches the Certificate. */
  component: string;
  certificate: { name: string; namespace?: string };
}

function certificateRef(config: SecdrConfig, { component, certificate }: CertificateInput): CertificateRef {
  const c = componentByName(config, component);
  if (c.platform.type !== 'kubernetes') {
    throw fail(
      FailureType.InvalidInput,
      `component ${component}: cert-manager Certificates are read through a kubernetes component, but its platform.type is ${c.platform.type}; name a kubernetes component`,
    );
  }
  const { kubeconfig, context, namespace } = c.platform;
  return { kubeconfig, context, namespace: certificate.namespace ?? namespace, name: certificate.name, who: `component ${component}` };
}

/**
 * Stop, start and inspect configured components through their platform adapter.
 * Inputs and results carry component names and StopRecords only (plain data, never a
 * credential): kubeconfigs and the like are read from the worker's own config.
 */
export function createPlatformActivities(config: SecdrConfig) {
  const adapter = (component: string) => platformFor(componentByName(config, component), { signal: cancellationSignal() });
  return {
    /**
     * Stops the component and waits until it no longer serves; the record is what
     * startComponent needs to put it back. A retry after a killed worker finds the component
     * already stopped by the attempt that died, so "how it was" cannot come from the
     * component itself: it comes from `before`, the state the workflow read (and kept in its
     * history) before it registered the undo, and failing that from the record the earlier
     * attempt heartbeated (heartbeats are throttled, so that one may never have reached the
     * server).
     */
    async stopComponent({ component, before }: { component: string; before?: ComponentState }): Promise<StopRecord> {
      const earlier = earlierAttemptRecord();
      const record = await withHeartbeat(earlier ?? `stopping ${component}`, (keep) =>
        adapter(component).stop({
          beforeStop: keep,
        }),
      );
      const ours = stoppedByThisRun(record, before);
      return ours.wasStopped && earlier && !earlier.wasStopped ? earlier : ours;
    },
    /**
     * Puts the component back as `record` says and waits until it is ready. Without a record (the
     * stop was cancelled or failed before it reported) the way back is `before`, the steady state
     * the workflow read: a StatefulSet returns to the replica count it had then.
     */
    async startComponent({ component, record, before }: { component: string; record?: StopRecord; before?: ComponentState }): Promise<ComponentState> {
      const way = record ?? (before && { component, adapter: componentByName(config, component).platform.type, stoppedAt: new Date().toISOString(), previousReplicas: before.replicas?.desired });
      return withHeartbeat(`starting ${component}`, () => adapter(component).start(way));
    },
    /** The component's state; with `preflight`, also checks (changing nothing) that stopping and starting it would be allowed. */
    async componentStatus({ component, preflight }: { component: string; preflight?: boolean }): Promise<ComponentState> {
      const a = adapter(component);
      const allowed = preflight && a.preflight ? await a.preflight() : undefined;
      const state = await a.status();
      return allowed ? { ...state, detail: `${state.detail}; ${allowed}` } : state;
    },
    /** A cert-manager Certificate's Ready/Issuing conditions, validity, renewal time, issuer and Secret name. */
    async certificateStatus(input: CertificateInput): Promise<CertificateStatus> {
      return readCertificate(certificateRef(config, input));
    },
    /** Requests a renewal like `cmctl renew` (Issuing=True, reason ManuallyTriggered). */
    async requestCertificateRenewal(input: CertificateInput): Promise<CertificateStatus & { alreadyIssuing: boolean }> {
      return requestRenewal(certificateRef(config, input));
    },
  };
}
