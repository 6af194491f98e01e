import type { CaOutageDetails, CaOutageInput } from '../workflows/ca-outage';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';

export const caOutage: ProcedureEntry<CaOutageInput> = {
  name: 'ca-outage',
  kind: 'drill',
  workflowType: 'caOutageWorkflow',
  summary: 'stop the CA, prove certificates keep serving and renewal fails detectably, then recovers within the SLO under the same root (docs/runbooks/ca-outage.md)',
  options: [{ flags: '--hold-seconds <n>', description: 'keep the CA down at least this long (default: caOutage.holdSeconds)' }],
  input(config, opts) {
    const c = config.caOutage;
    if (!c) {
      throw invalidInput('the config has no caOutage section: add ca, endpoints and trustStores (see examples/secdr.yaml and docs/runbooks/ca-outage.md)');
    }
    if (!config.components.some((x) => x.name === c.ca.component)) {
      const known = config.components.map((x) => x.name).join(', ') || '(none)';
      throw invalidInput(`caOutage.ca.component: no component named "${c.ca.component}" (configured: ${known}); add it under components: with its platform (how secdr stops and starts the CA)`);
    }
    let hold = c.holdSeconds;
    if (opts.holdSeconds !== undefined) {
      hold = Number(opts.holdSeconds);
      if (!Number.isInteger(hold) || hold < 0) throw invalidInput(`--hold-seconds ${String(opts.holdSeconds)}: give a whole number of seconds, 0 or more`);
    }
    return {
      caComponent: c.ca.component,
      caLabel: `${c.ca.type} ${c.ca.address}`,
      renewableEndpoints: c.endpoints.filter((e) => e.renewal).map((e) => e.name),
      certificateEndpoints: c.endpoints.filter((e) => e.certificate).map((e) => e.name),
      outageWindowSeconds: c.outageWindowSeconds,
      renewalMarginSeconds: c.renewalMarginSeconds,
      renewalSloSeconds: c.renewalSloSeconds,
      holdSeconds: hold,
    };
  },
  workflowId: (i, at) => `ca-outage-${i.caComponent}-${idStamp(at)}`,
  schedules: (config) =>
    config.caOutage?.schedule
      ? [{ scheduleId: 'secdr-drill-ca-outage', cron: config.caOutage.schedule, input: caOutage.input(config, {}), workflowId: `ca-outage-${config.caOutage.ca.component}` }]
      : [],
  summarize: (r) => {
    const d = r.details as unknown as CaOutageDetails;
    const shortest = d.headroom?.reduce((a, b) => (b.headroomSeconds < a.headroomSeconds ? b : a));
    return (
      `ca-outage ${d.ca}: ${d.inventory?.endpoints.length ?? 0} endpoint(s)` +
      (d.failureType ? `; renewal failed with ${d.failureType} in ${d.failureDetectedSeconds} s while down` : '') +
      (d.renewalRecoverySeconds !== undefined ? `; renewal recovered ${d.renewalRecoverySeconds} s after the CA was started` : '') +
      (d.root?.changed ? '; ROOT CHANGED' : '') +
      (shortest ? `; least headroom ${shortest.endpoint} (${shortest.remaining} left)` : '')
    );
  },
};
