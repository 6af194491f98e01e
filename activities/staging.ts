import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';

/** Removes what a run left in local staging; runs on the host that holds the file. */
export function createStagingActivities(config: SecdrConfig) {
  const roots = config.clusters.map((c) => resolve(c.stagingDir) + sep);
  return {
    /** Deletes one staged file; refuses anything outside the configured staging directories. */
    async discardStagedFile(input: { file: string }): Promise<{ removed: string }> {
      const file = resolve(input.file);
      if (!roots.some((r) => file.startsWith(r))) {
        throw fail(FailureType.InvalidInput, `refusing to delete ${input.file}: not inside a configured clusters[].stagingDir`);
      }
      await rm(file, { force: true });
      return { removed: file };
    },
  };
}
