import type { LogFailoverDetails, LogFailoverInput, LogFailoverVariant } from '../workflows/log-failover';
import { idStamp, type ProcedureEntry } from './types';
import { invalidInput } from '../lib/failure-types';
import { BOTH_DOWN_MIN_OUTAGE_SECONDS } from '../lib/logs/both-down-window';

const VARIANTS: LogFailoverVariant[] = ['primary-down', 'both-down', 'dry-run'];

export const logFailover: ProcedureEntry<LogFailoverInput> = {
  name: 'log-failover',
  kind: 'drill',
  workflowType: 'logFailoverWorkflow',
  summary: 'stop the primary log backend, prove the secondary has the logs within the SLO and the primary catches up (docs/runbooks/log-failover.md)',
  options: [
    {
      flags: '--variant <name>',
      description: 'primary-down (the drill), both-down (both stop: alerts must fire, nothing lost) or dry-run (steady state and permissions only)',
      default: 'primary-down',
    },
    {
      flags: '--outage-seconds <n>',
      description: `seconds the backend stays down while canaries are sent (default: logPipeline.outageWindowSeconds; both-down: logPipeline.bothDownOutageWindowSeconds, at least ${BOTH_DOWN_MIN_OUTAGE_SECONDS})`,
    },
  ],
  input(config, opts) {
    const lp = config.logPipeline;
    if (!lp) {
      throw invalidInput('the config has no logPipeline section: add primary, secondary and canary (see examples/secdr.yaml and docs/runbooks/log-failover.md)');
    }
    const variant = (opts.variant as string | undefined) ?? 'primary-down';
    if (!VARIANTS.includes(variant as LogFailoverVariant)) {
      throw invalidInput(`--variant ${variant}: unknown variant; use one of ${VARIANTS.join(', ')}`);
    }
    const bothDown = variant === 'both-down';
    let outage = bothDown ? lp.bothDownOutageWindowSeconds : lp.outageWindowSeconds;
    if (opts.outageSeconds !== undefined) {
      outage = Number(opts.outageSeconds);
      if (!Number.isInteger(outage) || outage < 5) throw invalidInput(`--outage-seconds ${String(opts.outageSeconds)}: give a whole number of seconds, at least 5`);
      if (bothDown && outage < BOTH_DOWN_MIN_OUTAGE_SECONDS) {
        throw invalidInput(
          `--outage-seconds ${outage}: too short for --variant both-down, whose LogPipelineDown alert needs a 1-minute window without a delivered block and then 30 s (for) to fire; ` +
            `give at least ${BOTH_DOWN_MIN_OUTAGE_SECONDS}, or leave it out to use logPipeline.bothDownOutageWindowSeconds (${lp.bothDownOutageWindowSeconds})`,
        );
      }
    }
    return {
      variant: variant as LogFailoverVariant,
      primary: lp.primary.component,
      secondary: lp.secondary.component,
      outageWindowSeconds: outage,
      canaryIntervalSeconds: lp.canaryIntervalSeconds,
      sloSeconds: lp.sloSeconds,
      catchUpLimitSeconds: lp.catchUpLimitSeconds,
    };
  },
  workflowId: (i, at) => `log-failover-${i.variant}-${idStamp(at)}`,
  summarize: (r) => {
    const d = r.details as unknown as LogFailoverDetails;
    if (!d.canaries) return `log-failover ${d.variant}: steady state ok, nothing changed`;
    const c = d.canaries;
    return (
      `log-failover ${d.variant}: ${c.sent} canaries sent; primary ${c.primary.received}, secondary ${c.secondary.received} received` +
      `${d.failoverDelaySeconds !== undefined ? `; failover ${d.failoverDelaySeconds} s` : ''}; catch-up ${d.catchUpSeconds} s`
    );
  },
};
