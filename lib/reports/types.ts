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

export type ProcedureOutcome = 'succeeded' | 'failed' | 'cancelled';

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
  /** Where the report activity wrote it. */
  reportFiles?: { json: string; markdown: string; html?: string };
}
