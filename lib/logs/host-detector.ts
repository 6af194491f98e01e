import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, FailureType } from '../fail';
import { runArgv } from '../platform/run-argv';

/** What one run of the host-level degraded-mode detector saw and did. */
export interface HostDetectorResult {
  /** 1: findings (what the both-down drill expects), 0: healthy, 2 never (thrown as InvalidInput). */
  exitCode: number;
  /** The finding lines it printed, e.g. "NEW   WARNING  central log endpoint … is not ready …". */
  findings: string[];
  /** It paged the emergency webhook and the webhook answered 2xx (nothing left in its outbox). */
  sentToEmergencyWebhook: boolean;
  /** Its last output line ("…: 1 finding(s), 1 new"), or the warning it gave. */
  detail: string;
}

export interface HostDetectorRun {
  /** deploy/host/secdr-degraded-check.sh as installed on the worker's host. */
  script: string;
  /** Readiness URL of the central log endpoint the detector checks (LOG_READY_URL). */
  logReadyUrl: string;
  /** The emergency webhook URL (a secret: written to a 0600 file the script reads, never to argv). */
  emergencyWebhookUrl: string;
  /** Field named in errors about the script. */
  field: string;
}

/** Single-quoted for bash, which sources the settings file. */
const sh = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the real detector with only its `logging` check, against a private state directory and
 * alert file, so the drill neither touches the host's own detector state (the timer's run still
 * reports its findings once) nor runs the host checks meant for root. Not --dry-run: the point is
 * that the page actually reaches the emergency webhook while central logging is down.
 */
export async function runHostDetector(run: HostDetectorRun): Promise<HostDetectorResult> {
  const notRun = (why: string) =>
    fail(
      FailureType.InvalidInput,
      `${run.field} ${run.script}: the host-level detector did not run (${why}); ` +
        'install deploy/host/secdr-degraded-check.sh on every worker host (it needs bash, curl and coreutils) or fix the path',
    );
  if (!existsSync(run.script)) throw notRun('no such file');
  const dir = await mkdtemp(join(tmpdir(), 'secdr-host-detector-'));
  try {
    const urlFile = join(dir, 'emergency-webhook.url');
    await writeFile(urlFile, `${run.emergencyWebhookUrl}\n`, { mode: 0o600 });
    const conf = join(dir, 'secdr-degraded.conf');
    await writeFile(
      conf,
      [
        'CHECKS=logging',
        `STATE_DIR=${sh(join(dir, 'state'))}`,
        `ALERT_FILE=${sh(join(dir, 'alerts.log'))}`,
        `LOG_READY_URL=${sh(run.logReadyUrl)}`,
        `EMERGENCY_WEBHOOK_URL_FILE=${sh(urlFile)}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const r = await runArgv(['bash', run.script, '--config', conf], run.field, { timeoutMs: 60_000 });
    if (r.code !== 0 && r.code !== 1) throw notRun(`exit ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    const warning = r.stderr.split('\n').find((l) => /webhook/i.test(l));
    return {
      exitCode: r.code,
      findings: lines.filter((l) => /^(NEW|known)\s/.test(l)),
      // A failed delivery is kept in the outbox for the next run: its absence means delivered.
      sentToEmergencyWebhook: r.code === 1 && !existsSync(join(dir, 'state', 'outbox')) && !warning,
      detail: warning ?? lines.at(-1) ?? '',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
