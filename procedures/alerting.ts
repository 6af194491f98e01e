import type { AlertingDrillInput, AlertingDrillReport } from '../workflows/alerting-drill';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';

export const alerting: ProcedureEntry<AlertingDrillInput> = {
  name: 'alerting',
  kind: 'drill',
  workflowType: 'alertingDrillWorkflow',
  summary: 'post a labelled DR_DRILL_TEST alert through the real routing tree and prove it, and its resolution, reach the on-call receiver within the SLO (docs/runbooks/quarterly-drill.md#alerting)',
  input(config) {
    if (!config.alertmanager) throw invalidInput('alertmanager.url: the alerting drill posts its test alert there; add `alertmanager: {url: http://alertmanager:9093}` to the config');
    if (!config.alertingDrill) {
      throw invalidInput('the config has no alertingDrill section: add alertingDrill.deliveryProbe.url (how the drill sees the notification arrive; docs/runbooks/quarterly-drill.md#delivery-probe)');
    }
    const a = config.alertingDrill;
    return { labels: a.labels, sloSeconds: a.sloSeconds, resolvedSloSeconds: a.resolvedSloSeconds };
  },
  workflowId: (_i, at) => `alerting-drill-${idStamp(at)}`,
  summarize: (r) => {
    const a = r as AlertingDrillReport;
    return `alerting drill ${a.outcome}: ${a.receiver ?? 'no receiver'}${a.route ? ` via ${a.route}` : ''}${a.deliveredAfterSeconds !== undefined ? `, delivered after ${a.deliveredAfterSeconds.toFixed(1)} s` : ''}${a.resolvedAfterSeconds !== undefined ? `, resolved after ${a.resolvedAfterSeconds.toFixed(1)} s` : ''}`;
  },
};
