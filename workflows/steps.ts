import { workflowInfo } from '@temporalio/workflow';

/** One step of a procedure, with workflow-time start and end, for the progress query and the report. */
export interface Step {
  name: string;
  startedAt: string;
  endedAt?: string;
  outcome?: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

/** Records steps in workflow time (deterministic: Date in workflows is workflow time). */
export class StepLog {
  readonly steps: Step[] = [];

  get current(): Step | undefined {
    return this.steps.find((s) => !s.endedAt);
  }

  async run<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    const step: Step = { name, startedAt: new Date().toISOString() };
    this.steps.push(step);
    try {
      const result = await fn();
      step.outcome = 'ok';
      step.detail = detail?.(result);
      return result;
    } catch (err) {
      step.outcome = 'failed';
      // An activity failure's own message is generic; its cause says what went wrong.
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      step.detail = cause instanceof Error ? cause.message : String(cause);
      throw err;
    } finally {
      step.endedAt = new Date().toISOString();
    }
  }

  skip(name: string, detail: string): void {
    const now = new Date().toISOString();
    this.steps.push({ name, startedAt: now, endedAt: now, outcome: 'skipped', detail });
  }
}

/** Seconds of workflow time since the run started. */
export function elapsedSeconds(): number {
  return (Date.now() - workflowInfo().runStartTime.getTime()) / 1000;
}
