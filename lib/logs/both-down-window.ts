/**
 * Shortest both-down outage in which LogPipelineDown (deploy/prometheus/rules/log-pipeline.yml)
 * can fire, in seconds: its 1m rate window must hold no delivered block, then `for: 30s`, plus
 * one 15 s scrape interval before the stall is seen and 5 s for the rule's evaluation:
 * 60 + 30 + 15 + 5. test/unit/config/log-config.test.ts recomputes it from the rule file. No imports:
 * the workflow, the config schema and the CLI input builder all read it.
 */
export const BOTH_DOWN_MIN_OUTAGE_SECONDS = 110;
