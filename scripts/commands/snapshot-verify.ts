import { stat } from 'node:fs/promises';
import { SnapshotCorruptError } from '../../lib/snapshot/corrupt';
import { formatInspection } from '../../lib/snapshot/inspection';
import { verifySnapshotFile } from '../../lib/snapshot/verify-file';

/**
 * `secdr snapshot verify FILE [--json]`: checks a raft snapshot archive offline, the way
 * the backup checks it before upload. Prints the inspection (a table, or JSON) and returns
 * 0 when valid; 1 when corrupt (the reason on stderr; with --json also a verdict on stdout);
 * 2 when the file cannot be read.
 */
export async function snapshotVerifyCommand(file: string, opts: { json?: boolean }): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) {
      console.error(`${file}: not a regular file; pass the path of a snapshot archive (.snap)`);
      return 2;
    }
    const inspection = await verifySnapshotFile(file);
    if (opts.json) console.log(JSON.stringify({ file, valid: true, ...inspection }, null, 2));
    else console.log(`${file}: valid raft snapshot\n\n${formatInspection(inspection)}`);
    return 0;
  } catch (err) {
    if (err instanceof SnapshotCorruptError) {
      console.error(`${err.message} [${err.reason}]`);
      if (opts.json)
        console.log(JSON.stringify({ file, valid: false, reason: err.reason, message: err.message }, null, 2));
      return 1;
    }
    if (typeof (err as NodeJS.ErrnoException).code === 'string') {
      console.error(`${file}: cannot read the file (${(err as Error).message}); check the path and its permissions`);
      return 2;
    }
    throw err;
  }
}
