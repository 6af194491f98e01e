import { execFile } from 'node:child_process';
import { fail, FailureType } from '../fail';

/** What a finished child process left behind. */
export interface ArgvResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link runArgv}. */
export interface RunArgvOptions {
  /** Kill the command after this many milliseconds. Default 60 000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs an argument array (never a shell string) and returns its exit code and output,
 * whatever the code. A command that cannot be started at all (not installed, not
 * executable) is a configuration error and fails as InvalidInput naming `field`.
 */
export async function runArgv(argv: readonly string[], field: string, opts: RunArgvOptions = {}): Promise<ArgvResult> {
  const [command, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: opts.timeoutMs ?? 60_000, signal: opts.signal, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = (err as NodeJS.ErrnoException & { code?: unknown } | null)?.code;
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(
            fail(
              FailureType.InvalidInput,
              `${field}: cannot run ${JSON.stringify(command)} (${code}); give an installed executable (absolute path or on the worker's PATH)`,
              { command: argv },
            ),
          );
          return;
        }
        if (err && typeof code !== 'number') {
          // Killed by the timeout, the abort signal or a signal from outside.
          resolve({ code: -1, stdout: String(stdout), stderr: `${String(stderr)}\n(${err.message})`.trim() });
          return;
        }
        resolve({ code: typeof code === 'number' ? code : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs `argv` and fails with PlatformActionFailed (command, exit code, stderr) unless it exits 0. */
export async function runArgvOk(argv: readonly string[], field: string, opts: RunArgvOptions = {}): Promise<ArgvResult> {
  const result = await runArgv(argv, field, opts);
  if (result.code !== 0) throw commandFailed(argv, result);
  return result;
}

export function commandFailed(argv: readonly string[], result: ArgvResult) {
  const stderr = result.stderr.trim().split('\n').slice(-10).join('\n');
  return fail(
    FailureType.PlatformActionFailed,
    `command ${JSON.stringify(argv)} exited with code ${result.code}${stderr ? `: ${stderr}` : ' (no stderr)'}`,
    { command: argv, exitCode: result.code, stderr },
  );
}
