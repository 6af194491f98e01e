/** What the drill asks of a log backend, whatever its query language. */
export interface LogBackendClient {
  /** The readiness endpoint `ready()` asks (also what the host-level detector checks). */
  readonly readyUrl: string;
  /** Ready to serve queries and ingest (VictoriaLogs /health, Loki /ready). */
  ready(): Promise<{ ready: boolean; detail: string }>;
  /** The sequence numbers of drill `run`'s canaries stored so far, ascending, without duplicates. */
  canarySeqs(run: string, since: Date): Promise<number[]>;
}

/** Describes a failed HTTP exchange without the URL's query string or credentials. */
export function httpProblem(what: string, url: string, detail: string): string {
  const u = new URL(url);
  return `${what} at ${u.origin}${u.pathname}: ${detail}`;
}
