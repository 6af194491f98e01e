import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** GNU time: reports the peak RSS of the command (and of its reaped descendants). */
export const GNU_TIME = '/usr/bin/time';

/** One finished command: wall time from spawn to exit, peak RSS as GNU time saw it. */
export interface Measured {
  /** What ran, as the shell would show it (for the report only; it is spawned as an argument array). */
  display: string;
  wallMs: number;
  /** Peak resident set size in KiB (`Maximum resident set size` of `time -v`); undefined without GNU time. */
  maxRssKiB?: number;
  stdout: string;
  stderr: string;
}

const running = new Set<number>();

/** Kills the benchmark's own still-running commands (by pid), for exit and Ctrl-C. */
export function killRunningCommands(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/**
 * Runs `command args` under `/usr/bin/time -v` (argument array, no shell) and measures it.
 * Throws with the command, exit code and stderr when it fails.
 */
export async function measure(
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; scratchDir: string; display?: string },
): Promise<Measured> {
  const display = opts.display ?? [command, ...args].join(' ');
  const timeFile = join(
    opts.scratchDir,
    `time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`,
  );
  const useTime = existsSync(GNU_TIME);
  const [cmd, argv] = useTime ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(cmd, argv, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid !== undefined) running.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? -1 : null)));
  });
  const wallMs = performance.now() - started;
  if (child.pid !== undefined) running.delete(child.pid);
  let maxRssKiB: number | undefined;
  if (useTime && existsSync(timeFile)) {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'));
    maxRssKiB = m ? Number(m[1]) : undefined;
    rmSync(timeFile, { force: true });
  }
  if (code !== 0) {
    throw new Error(`\`${display}\` failed with exit code ${code}; stderr:\n${stderr.slice(-4000)}`);
  }
  return { display, wallMs, maxRssKiB, stdout, stderr };
}

/** stdout of a short command, trimmed; `fallback` when it cannot run. */
export async function outputOf(command: string, args: string[], fallback = 'unknown'): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', () => resolve(fallback));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : fallback));
  });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
