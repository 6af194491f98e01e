import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { applyEvidenceRetention, evidenceId, loadEvidence, storeEvidence, type EvidenceEntry } from '../lib/reports/evidence';
import { drillReports, mergeDrillReports, type DrillResult, type QuarterlyParent } from '../lib/reports/merge';
import type { ProcedureReport } from '../lib/reports/types';

/**
 * The quarterly drill's evidence: one merged report (JSON, Markdown, HTML, JUnit) compared with
 * the previous quarterly run, stored in every snapshot storage with its SHA-256 in the catalog,
 * and a copy in reportsDir for the person at the terminal.
 */
export function createDrillEvidenceActivities(config: SecdrConfig) {
  return {
    async storeDrillEvidence(input: { parent: QuarterlyParent; drills: DrillResult[] }): Promise<{
      entry: EvidenceEntry;
      comparedWith?: string;
      localFiles: { json: string; markdown: string; html: string; junit: string };
      retention: { storage: string; deleted: string[] }[];
    }> {
      const merged = mergeDrillReports(input.parent, input.drills);
      const { entry, report, rendered } = await storeEvidence(config.storage, merged, drillReports(input.drills, input.parent.finishedAt));
      await mkdir(config.reportsDir, { recursive: true, mode: 0o700 });
      const base = join(config.reportsDir, `${evidenceId(merged.workflowId)}`);
      const localFiles = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html`, junit: `${base}.junit.xml` };
      for (const k of Object.keys(localFiles) as (keyof typeof localFiles)[]) await writeFile(localFiles[k], rendered[k], { mode: 0o600 });
      const retention = await applyEvidenceRetention(config.storage, config.retention, new Date());
      return { entry, comparedWith: report.comparison?.previousWorkflowId, localFiles, retention };
    },

    /** The drills of an earlier quarterly run, for `secdr drill rerun`: which passed, with their reports. */
    async loadDrillRun(input: { workflowId: string }): Promise<DrillResult[]> {
      const found = await loadEvidence(config.storage, input.workflowId);
      if (!found) throw fail(FailureType.InvalidInput, `no drill evidence for ${input.workflowId} in storage ${config.storage.map((s) => s.name).join(', ')}; pick an id from \`secdr drill list\``);
      const drills = (found.report.details.drills ?? []) as Omit<DrillResult, 'report'>[];
      const byDrill = (name: string, r: ProcedureReport) => r.steps.some((s) => s.name.startsWith(`${name}: `));
      return drills.map((d) => ({
        ...d,
        // The merged report holds each drill's steps under its name; keep them for the merged re-run report.
        report:
          d.outcome === 'succeeded' && byDrill(d.drill, found.report)
            ? {
                ...found.report,
                procedure: d.drill,
                workflowId: d.workflowId,
                steps: unprefix(d.drill, found.report.steps),
                slos: found.report.slos.filter((s) => s.slo.startsWith(`${d.drill}: `)).map((s) => ({ ...s, slo: s.slo.slice(d.drill.length + 2) })),
                compensations: unprefix(d.drill, found.report.compensations),
                findings: found.report.findings.filter((f) => f.startsWith(`${d.drill}: `)).map((f) => f.slice(d.drill.length + 2)),
                details: {},
                comparison: undefined,
                outcome: 'succeeded',
                error: undefined,
              }
            : undefined,
      }));
    },
  };
}

function unprefix<T extends { name: string }>(drill: string, xs: T[]): T[] {
  return xs.filter((x) => x.name.startsWith(`${drill}: `)).map((x) => ({ ...x, name: x.name.slice(drill.length + 2) }));
}
