import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { SecdrConfig } from '../lib/config/schema';
import { procedureFreshnessGauge, procedureLastOutcome, procedureRuns, sloLimit, sloMeasured } from '../lib/metrics';
import { saveLastSuccess } from '../lib/procedure-outcomes';
import { renderMarkdown } from '../lib/reports/markdown';
import { reportBaseName } from '../lib/reports/names';
import type { ProcedureOutcome, ProcedureReport, SloResult } from '../lib/reports/types';

export interface OutcomeInput {
  procedure: string;
  cluster?: string;
  outcome: ProcedureOutcome;
  /** ISO time the procedure finished. */
  at: string;
  slos: SloResult[];
  workflowId?: string;
}

/**
 * The frame's epilogue: the outcome in the worker's metrics and, for a success, in the
 * storage (so freshness survives a restart), and the report on disk. Failures throw: the
 * frame reports them, never swallows them.
 */
export function createProcedureActivities(config: SecdrConfig) {
  return {
    async recordProcedureOutcome(input: OutcomeInput): Promise<void> {
      const at = Date.parse(input.at) / 1000;
      const ok = input.outcome === 'succeeded' || input.outcome === 'verified';
      procedureRuns.inc({ procedure: input.procedure, outcome: input.outcome });
      procedureLastOutcome.set({ procedure: input.procedure, cluster: input.cluster ?? '', outcome: ok ? 'success' : 'failure' }, at);
      for (const s of input.slos) {
        const labels = { procedure: input.procedure, cluster: input.cluster ?? '', slo: s.slo };
        sloLimit.set(labels, s.limitSeconds);
        if (s.measuredSeconds !== undefined) sloMeasured.set(labels, s.measuredSeconds);
      }
      if (!ok) return;
      const missed = await saveLastSuccess(config.storage, { procedure: input.procedure, cluster: input.cluster, at: input.at, workflowId: input.workflowId ?? '' });
      for (const m of missed) log.warn(`the last success of ${input.procedure} is missing from one storage (freshness still reads it from the others): ${m}`);
      await procedureFreshnessGauge(input.procedure, input.cluster, at);
    },

    async writeProcedureReport(report: ProcedureReport): Promise<{ json: string; markdown: string }> {
      await mkdir(config.reportsDir, { recursive: true, mode: 0o700 });
      const base = join(config.reportsDir, reportBaseName(report));
      const files = { json: `${base}.json`, markdown: `${base}.md` };
      await writeFile(files.json, `${JSON.stringify({ ...report, reportFiles: files }, null, 2)}\n`, { mode: 0o600 });
      await writeFile(files.markdown, renderMarkdown(report), { mode: 0o600 });
      return files;
    },
  };
}
