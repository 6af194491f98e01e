import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { SecdrConfig } from '../lib/config/schema';
import { procedureFreshnessGauge, procedureLastOutcome, procedureRuns, sloLimit, sloMeasured } from '../lib/metrics';
import { saveLastSuccess } from '../lib/procedure-outcomes';
import { applyEvidenceRetention, isQuarterlyDrillChild, storeEvidence } from '../lib/reports/evidence';
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
/** The registry's kind of a procedure ('drill', …), given by the worker: activities sit below the registry and do not import it. */
export type ProcedureKindOf = (procedure: string) => string | undefined;

export function createProcedureActivities(config: SecdrConfig, kindOf: ProcedureKindOf) {
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

    /**
     * The report files in reportsDir. A standalone drill run (a `drill` procedure that is not the
     * quarterly drill nor one of its children, whose evidence the quarterly drill stores merged)
     * also gets the HTML page and its evidence stored and catalogued in the snapshot storage,
     * compared with the previous run of that drill, under the snapshots' retention. Here rather
     * than in a workflow step, so running drill workflows keep their command sequence.
     */
    async writeProcedureReport(report: ProcedureReport): Promise<{ json: string; markdown: string; html?: string }> {
      await mkdir(config.reportsDir, { recursive: true, mode: 0o700 });
      const base = join(config.reportsDir, reportBaseName(report));
      const standaloneDrill = kindOf(report.procedure) === 'drill' && report.procedure !== 'quarterly' && !isQuarterlyDrillChild(report.workflowId);
      if (!standaloneDrill) {
        const files = { json: `${base}.json`, markdown: `${base}.md` };
        await writeFile(files.json, `${JSON.stringify({ ...report, reportFiles: files }, null, 2)}\n`, { mode: 0o600 });
        await writeFile(files.markdown, renderMarkdown(report), { mode: 0o600 });
        return files;
      }
      // Stored first: the local copies then carry the comparison with the previous run too.
      const stored = await storeEvidence(config.storage, report, [report]);
      const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
      await writeFile(files.json, `${JSON.stringify({ ...stored.report, reportFiles: files }, null, 2)}\n`, { mode: 0o600 });
      await writeFile(files.markdown, stored.rendered.markdown, { mode: 0o600 });
      await writeFile(files.html, stored.rendered.html, { mode: 0o600 });
      for (const r of await applyEvidenceRetention(config.storage, config.retention, new Date())) {
        if (r.deleted.length) log.info(`drill evidence retention removed ${r.deleted.join(', ')} from storage ${r.storage}`);
      }
      return files;
    },
  };
}
