import { workflowInfo } from '@temporalio/workflow';
import { failureMessage } from '../../lib/fail';
import type { Step } from '../../lib/reports/types';

export type { Step };

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
      step.detail = failureMessage(err);
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
