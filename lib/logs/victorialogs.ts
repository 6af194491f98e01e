import { fail, FailureType } from '../fail';
import { httpProblem, type LogBackendClient } from './backend';
import { CANARY_FIELDS, canarySeq } from './canary';

/** Seconds subtracted from the drill start in time filters: clocks of worker and backend may differ a little. */
const CLOCK_SLACK_SECONDS = 300;

/** The LogsQL query for the distinct canary numbers of one drill run since `since`. */
export function canaryQuery(run: string, since: Date): string {
  const from = new Date(since.getTime() - CLOCK_SLACK_SECONDS * 1000).toISOString();
  return `_time:>=${from} ${CANARY_FIELDS.run}:=${JSON.stringify(run)} | uniq by (${CANARY_FIELDS.run}, ${CANARY_FIELDS.seq}) limit 1000000`;
}

/** Parses VictoriaLogs' query answer: one JSON object per line. */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** VictoriaLogs through its HTTP API: /health and LogsQL at /select/logsql/query. */
export class VictoriaLogsClient implements LogBackendClient {
  constructor(
    private readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  get readyUrl(): string {
    return `${this.baseUrl.replace(/\/$/, '')}/health`;
  }

  async ready(): Promise<{ ready: boolean; detail: string }> {
    const url = this.readyUrl;
    try {
      const res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(5000) });
      const body = (await res.text()).trim().slice(0, 200);
      return { ready: res.ok, detail: `VictoriaLogs ${new URL(url).host}: /health ${res.status}${body ? ` ${body}` : ''}` };
    } catch (err) {
      return { ready: false, detail: httpProblem('VictoriaLogs', url, (err as Error).message) };
    }
  }

  async canarySeqs(run: string, since: Date): Promise<number[]> {
    const url = `${this.baseUrl.replace(/\/$/, '')}/select/logsql/query`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: canaryQuery(run, since) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw fail(FailureType.LogBackendUnavailable, httpProblem('VictoriaLogs query', url, `${(err as Error).message}; is the backend up?`));
    }
    const text = await res.text();
    if (!res.ok) {
      throw fail(FailureType.LogBackendUnavailable, httpProblem('VictoriaLogs query', url, `HTTP ${res.status}: ${text.trim().slice(0, 300)}`));
    }
    const seqs = new Set<number>();
    for (const record of parseJsonLines(text)) {
      const seq = canarySeq(record, run);
      if (seq !== undefined) seqs.add(seq);
    }
    return [...seqs].sort((a, b) => a - b);
  }
}
