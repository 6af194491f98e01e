import { fail, FailureType } from '../fail';
import { httpProblem, type LogBackendClient } from './backend';
import { CANARY_FIELDS, canarySeq } from './canary';

/** Lines per query: far above one drill's canaries (one a second for minutes). */
const LIMIT = 5000;
const CLOCK_SLACK_MS = 300_000;

/** Loki's answer to /loki/api/v1/query_range for a log query. */
interface LokiStreamsAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
}

/** The LogQL query for one drill run's canaries under a stream selector (e.g. `{job="fluent-bit"}`). */
export function canaryLogQL(selector: string, run: string): string {
  const r = JSON.stringify(run);
  // The line filter narrows the scan before the (costlier) json parser runs.
  return `${selector} |= ${r} | json | ${CANARY_FIELDS.run}=${r}`;
}

/**
 * The record a Loki log line carries: the line itself when it is the canary JSON, or the
 * JSON inside Fluent Bit's `log` field (a tail input without a parser wraps each line).
 */
export function lineRecord(line: string, labels: Record<string, string>): Record<string, unknown> {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed.log === 'string' && parsed.log.trimStart().startsWith('{')) {
      return { ...labels, ...(JSON.parse(parsed.log) as Record<string, unknown>) };
    }
    return { ...labels, ...parsed };
  } catch {
    return labels;
  }
}

/** Distinct canary numbers of `run` in a query_range answer; throws on an API error or a truncated answer. */
export function canarySeqsFromAnswer(answer: LokiStreamsAnswer, run: string): number[] {
  if (answer.status !== 'success' || !answer.data) {
    throw fail(FailureType.LogBackendUnavailable, `Loki query failed: ${answer.error ?? `status ${answer.status}`}`);
  }
  if (answer.data.resultType !== 'streams') {
    throw fail(FailureType.InvalidInput, `Loki answered a ${answer.data.resultType} result to a log query; check logPipeline.<backend>.selector`);
  }
  const seqs = new Set<number>();
  let lines = 0;
  for (const s of answer.data.result) {
    for (const [, line] of s.values) {
      lines++;
      const seq = canarySeq(lineRecord(line, s.stream), run);
      if (seq !== undefined) seqs.add(seq);
    }
  }
  if (lines >= LIMIT) {
    throw fail(FailureType.LogBackendUnavailable, `Loki returned ${lines} lines, its limit: the answer is truncated, counts would be wrong`);
  }
  return [...seqs].sort((a, b) => a - b);
}

/** Loki through its HTTP API: /ready and LogQL at /loki/api/v1/query_range. */
export class LokiClient implements LogBackendClient {
  constructor(
    private readonly baseUrl: string,
    /** Stream selector the shipper's lines carry, e.g. `{job="fluent-bit"}`. */
    private readonly selector: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  get readyUrl(): string {
    return `${this.baseUrl.replace(/\/$/, '')}/ready`;
  }

  async ready(): Promise<{ ready: boolean; detail: string }> {
    const url = this.readyUrl;
    try {
      const res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(5000) });
      const body = (await res.text()).trim().slice(0, 200);
      return { ready: res.ok, detail: `Loki ${new URL(url).host}: /ready ${res.status}${body ? ` ${body}` : ''}` };
    } catch (err) {
      return { ready: false, detail: httpProblem('Loki', url, (err as Error).message) };
    }
  }

  async canarySeqs(run: string, since: Date): Promise<number[]> {
    const url = new URL(`${this.baseUrl.replace(/\/$/, '')}/loki/api/v1/query_range`);
    url.search = new URLSearchParams({
      query: canaryLogQL(this.selector, run),
      start: String(BigInt(since.getTime() - CLOCK_SLACK_MS) * 1_000_000n),
      end: String(BigInt(Date.now() + 60_000) * 1_000_000n),
      limit: String(LIMIT),
      direction: 'forward',
    }).toString();
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(15_000) });
    } catch (err) {
      throw fail(FailureType.LogBackendUnavailable, httpProblem('Loki query', url.toString(), `${(err as Error).message}; is the backend up?`));
    }
    const text = await res.text();
    if (!res.ok) {
      throw fail(FailureType.LogBackendUnavailable, httpProblem('Loki query', url.toString(), `HTTP ${res.status}: ${text.trim().slice(0, 300)}`));
    }
    return canarySeqsFromAnswer(JSON.parse(text) as LokiStreamsAnswer, run);
  }
}
