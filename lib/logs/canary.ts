/**
 * The drill's canary log lines. Each is one JSON object the shipper parses into fields
 * (vlagent and Fluent Bit both parse JSON lines), so a backend can be asked for exactly the
 * canaries of one drill run by field, not by text search.
 */

/** Field names carried by every canary line. */
export const CANARY_FIELDS = {
  /** The drill run (its workflow id): separates runs sharing the backends. */
  run: 'secdr_drill',
  /** 0 = steady state; 1… = numbered outage canaries. */
  seq: 'secdr_seq',
  /** When the worker emitted it (ISO); the backend's own _time is the ingestion time. */
  sentAt: 'secdr_sent_at',
} as const;

export interface Canary {
  run: string;
  seq: number;
  sentAt: string;
}

/** The JSON line for one canary (no trailing newline). `_msg` is what a person sees in the backend's UI. */
export function canaryLine(c: Canary): string {
  return JSON.stringify({
    _msg: `secdr log-failover canary ${c.seq} of drill ${c.run}`,
    [CANARY_FIELDS.run]: c.run,
    [CANARY_FIELDS.seq]: c.seq,
    [CANARY_FIELDS.sentAt]: c.sentAt,
  });
}

/** The canary sequence number in a parsed log record, or undefined when it is not one of `run`'s canaries. */
export function canarySeq(record: Record<string, unknown>, run: string): number | undefined {
  if (record[CANARY_FIELDS.run] !== run) return undefined;
  const seq = Number(record[CANARY_FIELDS.seq]);
  return Number.isInteger(seq) && seq >= 0 ? seq : undefined;
}

/** The numbers in `expected` that are not in `seen`, ascending. */
export function missingSeqs(expected: number[], seen: Iterable<number>): number[] {
  const have = new Set(seen);
  return expected.filter((n) => !have.has(n)).sort((a, b) => a - b);
}
