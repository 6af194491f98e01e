import { Context } from '@temporalio/activity';

/** Heartbeats progress; a no-op outside an activity (CLI, benchmark), where there is no context. */
export function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

/** The activity's cancellation signal, or undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** `<workflow run id>-` inside an activity, '' outside: a prefix that keeps one run's staged files apart from another's. */
export function runScope(): string {
  try {
    const runId = Context.current().info.workflowExecution?.runId;
    return runId ? `${runId}-` : '';
  } catch {
    return '';
  }
}
