import type { SecdrConfig } from '../lib/config/schema';
import type { ProcedureReport } from '../lib/reports/types';

/** A CLI option of a procedure's command, beside the common --wait, --json and --junit. */
export interface ProcedureOption {
  /** commander flags, e.g. `--variant <name>` */
  flags: string;
  description: string;
  default?: string;
}

/**
 * One place per procedure: everything outside the workflow file that the CLI, `schedules
 * apply`, the worker and the metrics bootstrap need. A new drill is one workflow file plus
 * one of these (see docs/architecture.md).
 */
export interface ProcedureEntry<I = unknown> {
  /** Registry name: the metrics `procedure`/`drill` label, the SecdrProcedure search attribute, the CLI name. */
  name: string;
  /** `drill` entries get a `secdr drill <name>` command and a freshness gauge; a `watch` runs forever (singletonId). */
  kind: 'backup' | 'restore' | 'drill' | 'watch';
  /** Exported workflow function name in workflows/index.ts. */
  workflowType: string;
  /** One line for `--help`. */
  summary: string;
  options?: ProcedureOption[];
  /**
   * The workflow input from the config and the command's options: names and settings only,
   * never credentials. Throws an Error naming the option or config field when something is wrong.
   */
  input(config: SecdrConfig, opts: Record<string, string | boolean | undefined>): I;
  /** The run's workflow id: says what ran where, sorts by time. */
  workflowId(input: I, at: Date): string;
  /**
   * `watch` entries: the id of the one long-running run the config asks for (signal-with-start
   * reaches it or starts it). Takes precedence over `workflowId`, which cannot see the config.
   */
  singletonId?(config: SecdrConfig): string;
  /** The cluster the run is about (search attribute, metrics label), if any. */
  cluster?(input: I): string | undefined;
  /** Schedules this procedure wants from the config (`secdr schedules apply`). */
  schedules?(config: SecdrConfig): { scheduleId: string; cron: string; input: I; workflowId: string }[];
  /** One terminal line for a finished run. */
  summarize?(report: ProcedureReport): string;
}

/** `2026-11-26T02:00:00.000Z` → `2026-11-26T020000000Z`: workflow ids that sort by time. */
export const idStamp = (at: Date) => at.toISOString().replace(/[:.]/g, '');
