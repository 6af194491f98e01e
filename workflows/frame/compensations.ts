import { failureMessage } from '../../lib/fail';
import type { CompensationResult } from '../../lib/reports/types';

/** What a step registered before it changed something, so the change can be put back. */
export interface Undo {
  readonly name: string;
  /** The procedure put the change back itself (or it no longer applies): the undo will not run. */
  settle(detail: string): void;
}

interface Entry {
  name: string;
  /** The undo; a string it resolves to is kept as the outcome's detail. */
  run: () => Promise<unknown>;
  settled?: string;
}

/**
 * The compensation stack. A step registers its undo *before* it acts, so a failure,
 * cancellation or crash at any point after that still finds the undo. `unwind` runs the
 * undos newest first; each undo is an activity call retried by its own profile, and its
 * outcome (done, failed with the reason) is kept for the report. Deterministic: plain data.
 */
export class Compensations {
  private readonly entries: Entry[] = [];
  readonly results: CompensationResult[] = [];

  register(name: string, run: () => Promise<unknown>): Undo {
    const entry: Entry = { name, run };
    this.entries.push(entry);
    return {
      name,
      settle: (detail: string) => {
        entry.settled ??= detail;
      },
    };
  }

  /** Undos registered and not yet run or settled, newest first (for the status query). */
  get pending(): string[] {
    return this.entries.filter((e) => !e.settled).map((e) => e.name).reverse();
  }

  /**
   * Runs every unsettled undo, newest first, and records each outcome; settled ones are
   * recorded as done by the procedure. Never throws: the caller decides what a failed undo
   * means (a failed procedure) from the returned list.
   */
  async unwind(): Promise<CompensationResult[]> {
    while (this.entries.length > 0) {
      const e = this.entries.pop()!;
      if (e.settled) {
        this.results.push({ name: e.name, outcome: 'not needed', detail: e.settled, at: new Date().toISOString() });
        continue;
      }
      try {
        const said = await e.run();
        this.results.push({ name: e.name, outcome: 'done', detail: typeof said === 'string' ? said : undefined, at: new Date().toISOString() });
      } catch (err) {
        this.results.push({ name: e.name, outcome: 'failed', detail: failureMessage(err), at: new Date().toISOString() });
      }
    }
    return this.results;
  }

  /** Drops every undo as not needed (a procedure that asked not to compensate on success). */
  discardAll(detail: string): void {
    for (const e of this.entries) e.settled ??= detail;
  }
}
