import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanDir } from './secret-scan';

/** A fresh temporary directory, removed by the returned cleanup unless SECDR_KEEP_TMP is set. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `secdr-${prefix}-`));
  // PostgreSQL runs as its own user when the suite runs as root: it must be able to traverse here.
  chmodSync(dir, 0o755);
  scanDir(dir);
  return {
    dir,
    cleanup: () => {
      if (!process.env.SECDR_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
