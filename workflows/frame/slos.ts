import type { SloResult } from '../../lib/reports/types';
import { elapsedSeconds } from './step-log';

/**
 * One SLO as a workflow timer: started when the procedure (or a phase of it) starts,
 * `met()` records the measured value, and the frame's watcher records a breach the
 * moment the limit passes, even while a step is still stuck.
 */
export class SloTimer {
  private reachedAt?: number;
  breachedAtSeconds?: number;
  private readonly startSeconds: number;

  constructor(
    readonly slo: string,
    readonly limitSeconds: number,
    /** Workflow seconds the clock starts from; default: now. */
    from?: number,
  ) {
    this.startSeconds = from ?? elapsedSeconds();
  }

  /** The goal is reached now; later calls keep the first measurement. */
  met(): number {
    this.reachedAt ??= elapsedSeconds();
    return this.measuredSeconds!;
  }

  get reached(): boolean {
    return this.reachedAt !== undefined;
  }

  /** Seconds from the SLO's start to the goal; undefined until reached. */
  get measuredSeconds(): number | undefined {
    return this.reachedAt === undefined ? undefined : this.reachedAt - this.startSeconds;
  }

  /** Milliseconds left before the limit, from the workflow clock. */
  get remainingMs(): number {
    return Math.max(0, (this.startSeconds + this.limitSeconds - elapsedSeconds()) * 1000);
  }

  result(): SloResult {
    const measured = this.measuredSeconds;
    return {
      slo: this.slo,
      limitSeconds: this.limitSeconds,
      measuredSeconds: measured,
      breachedAtSeconds: this.breachedAtSeconds,
      met: measured !== undefined && measured <= this.limitSeconds,
    };
  }
}
