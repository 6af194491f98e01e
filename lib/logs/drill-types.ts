/**
 * What the log-failover drill records in its report's details. Here, not beside the workflow, so
 * the report renderers (lib/reports) can read them without importing it.
 */
import type { HostDetectorResult } from './host-detector';

/**
 * primary-down: the drill of the runbook. both-down: both backends stop, the pipeline alerts
 * must fire, nothing may be lost. dry-run: steady state and permissions only, changes nothing.
 */
export type LogFailoverVariant = 'primary-down' | 'both-down' | 'dry-run';

export interface CanaryCounts {
  received: number;
  missing: number[];
}

/** The drill's own report fields (report.details). */
export interface LogFailoverDetails {
  variant: LogFailoverVariant;
  /** Canary tag: the workflow id. */
  run: string;
  timeline: { at: string; seconds: number; event: string }[];
  canaries?: { sent: number; primary: CanaryCounts; secondary: CanaryCounts };
  /** Seconds from the stop to the first outage canary seen in the secondary (primary-down). */
  failoverDelaySeconds?: number;
  /** Seconds from the restarted backend(s) being ready to the last outage canary arriving. */
  catchUpSeconds?: number;
  /** both-down: pipeline alerts firing before the restart (absent: no Prometheus configured). */
  alertsFiring?: string[];
  /** both-down: what the host-level detector saw and whether it paged (absent: logPipeline.hostDetector not set). */
  hostDetector?: HostDetectorResult;
}
