/** What every adapter accepts besides the component's config. */
export interface AdapterOptions {
  /** Aborts waits (readiness, rollout) when the activity is cancelled. */
  signal?: AbortSignal;
}
