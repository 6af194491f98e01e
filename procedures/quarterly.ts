import { quarterlyDrillDefaults } from '../lib/config/drills';
import type { SecdrConfig } from '../lib/config/schema';
import type { QuarterlyDrillInput, QuarterlyDrillReport } from '../workflows/quarterly-drill';
import { quarterlyMember } from './quarterly-members';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';

/** Each configured drill's own input, built by its registry entry, as the quarterly drill's children get it. */
function childInputs(config: SecdrConfig): QuarterlyDrillInput['drills'] {
  const q = config.quarterlyDrill ?? quarterlyDrillDefaults;
  return q.drills.map((name, i) => {
    const entry = quarterlyMember(name);
    if (!entry) throw invalidInput(`quarterlyDrill.drills[${i}]: "${name}" is not a drill the quarterly drill can run (vault-restore, log-failover, ca-outage, alerting); remove it from the list`);
    try {
      return { name, workflowType: entry.workflowType, input: entry.input(config, {}) };
    } catch (err) {
      throw invalidInput(`quarterlyDrill.drills[${i}] (${name}): ${(err as Error).message}; or leave ${name} out of quarterlyDrill.drills`);
    }
  });
}

export const quarterly: ProcedureEntry<QuarterlyDrillInput> = {
  name: 'quarterly',
  kind: 'drill',
  workflowType: 'quarterlyDrillWorkflow',
  summary: 'the quarterly DR drill: optional approval, then every configured drill as a child workflow; one report with the snapshots (docs/runbooks/quarterly-drill.md)',
  input(config, opts) {
    const q = config.quarterlyDrill ?? quarterlyDrillDefaults;
    const rerunOf = opts.rerunOf as string | undefined;
    return {
      drills: childInputs(config),
      ...(q.approval.required && !opts.noApproval ? { approval: { timeoutSeconds: q.approval.timeoutSeconds } } : {}),
      stopOnFailure: q.stopOnFailure,
      ...(rerunOf ? { rerunOf } : {}),
    };
  },
  workflowId: (i, at) => `quarterly-drill-${i.rerunOf ? 'rerun-' : ''}${idStamp(at)}`,
  schedules: (config) => {
    const q = config.quarterlyDrill;
    if (!q?.schedule) return [];
    return [{ scheduleId: 'secdr-drill-quarterly', cron: q.schedule, input: quarterly.input(config, {}), workflowId: 'quarterly-drill' }];
  },
  summarize: (r) => {
    const q = r as QuarterlyDrillReport;
    const drills = (q.drills ?? []).map((d) => `${d.drill} ${d.outcome}${d.slosBreached ? ` (${d.slosBreached} SLO breached)` : ''}${d.reusedFrom ? ' (passed before)' : ''}`).join(', ');
    return `quarterly drill ${q.outcome}: ${drills}${q.evidence ? `; evidence ${q.evidence.files.html.path}` : ''}`;
  },
};
