/**
 * The platform adapter: how a procedure stops, starts and inspects a component
 * (a log backend, a CA, a Vault target) without knowing where it runs. Every
 * adapter (kubernetes, process, systemd, command) implements this one interface;
 * activities pick one from the component's config with `platformFor`.
 *
 * Contract: `stop()` returns a `StopRecord` carrying everything `start()` needs to put
 * the component back exactly as it was (for Kubernetes, the replica count it had).
 * The record is plain data, never a secret, because workflows keep it to run the
 * compensation on another worker after a crash.
 */
export interface ComponentState {
  /** The component's configured name. */
  component: string;
  /** Serving: process up and ready, or every desired replica ready. */
  running: boolean;
  /** One line for step logs and reports: "StatefulSet logs/victorialogs 2/2 ready". */
  detail: string;
  /** Kubernetes only: desired and ready replicas. */
  replicas?: { desired: number; ready: number };
}

export interface StopRecord {
  component: string;
  adapter: 'kubernetes' | 'process' | 'systemd' | 'command';
  /** When it was stopped (ISO). */
  stoppedAt: string;
  /** Kubernetes: the replica count before scaling to 0, restored by start(). */
  previousReplicas?: number;
  /** It was already stopped before the drill: start() leaves it stopped. */
  wasStopped?: boolean;
}

/** Optional callbacks of `stop()`. */
export interface StopHooks {
  /**
   * Called with the record just before the component is actually stopped. The activity
   * heartbeats it, so a retry after a killed worker (which finds the component already
   * stopped) still returns what it was before, e.g. the replica count to restore.
   */
  beforeStop?(record: StopRecord): void;
}

export interface PlatformAdapter {
  status(): Promise<ComponentState>;
  /** Stops the component and waits until it no longer serves. Idempotent. */
  stop(hooks?: StopHooks): Promise<StopRecord>;
  /** Puts the component back as `record` says (or simply starts it) and waits until ready. Idempotent. */
  start(record?: StopRecord): Promise<ComponentState>;
  /**
   * Checks, changing nothing, that `stop()` and `start()` would be allowed (a dry run's
   * "permissions"): throws the typed failure the real stop would meet; returns what it checked.
   * Adapters whose stop needs no grant beyond what `status()` already proves leave it out.
   */
  preflight?(): Promise<string>;
}
