/**
 * The report every procedure leaves behind (JSON, Markdown, HTML, JUnit). Plain data:
 * built in workflow code, rendered by activities. Never holds a secret.
 */

/** One step of a procedure, in workflow time: the runbook step, word for word. */
export interface Step {
  name: string;
  startedAt: string;
  endedAt?: string;
  outcome?: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export interface SloResult {
  slo: string;
  limitSeconds: number;
  /** Workflow seconds from the procedure's start (or the SLO's own start); absent when never reached. */
  measuredSeconds?: number;
  /** Seconds at which the SLO timer fired without the goal reached. */
  breachedAtSeconds?: number;
  met: boolean;
}

/** An undo the procedure registered before a change, and what became of it. */
export interface CompensationResult {
  name: string;
  outcome: 'done' | 'failed' | 'not needed';
  detail?: string;
  at?: string;
}

/** An SLO-breach alert and whether Alertmanager took it. */
export interface AlertDelivery {
  slo: string;
  delivered: boolean;
  error?: string;
}

export type ProcedureOutcome = 'succeeded' | 'verified' | 'failed' | 'cancelled';

export interface ProcedureReport {
  /** Registry name: vault-snapshot, vault-restore, log-failover, ca-outage, alerting, quarterly, … */
  procedure: string;
  workflowId: string;
  runId?: string;
  cluster?: string;
  startedAt: string;
  finishedAt?: string;
  outcome: ProcedureOutcome;
  error?: string;
  steps: Step[];
  slos: SloResult[];
  compensations: CompensationResult[];
  /** Runbook gaps: breached SLOs, failed steps, undos that failed, certificates near expiry. */
  findings: string[];
  alerts: AlertDelivery[];
  /** Procedure-specific results (restore: snapshot used, checks; drills: counts, inventory). */
  details: Record<string, unknown>;
  /** How this run's SLOs compare with the previous run of the same procedure (drills). */
  comparison?: ReportComparison;
  /** Where the report activity wrote it. */
  reportFiles?: { json: string; markdown: string; html?: string; junit?: string };
}

/** One SLO measured in this run and/or the previous one. */
export interface SloChange {
  slo: string;
  limitSeconds: number;
  previousSeconds?: number;
  currentSeconds?: number;
  previousMet?: boolean;
  currentMet?: boolean;
  /** better/worse by more than the noise margin; new/gone when only one run measured it. */
  change: 'better' | 'worse' | 'same' | 'new' | 'gone';
}

/** This run against the previous run of the same procedure. */
export interface ReportComparison {
  previousWorkflowId: string;
  previousStartedAt: string;
  previousOutcome: ProcedureOutcome;
  slos: SloChange[];
}
