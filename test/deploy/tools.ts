import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root (test/deploy/../..). */
export const repoRoot = resolve(__dirname, '..', '..');

/** Debian package that provides each command-line tool these tests run. */
const packages = {
  promtool: 'prometheus',
  amtool: 'prometheus-alertmanager',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  shellcheck: 'shellcheck',
  bats: 'bats',
} as const;

export type Tool = keyof typeof packages;

/**
 * Absolute path of `tool` on PATH. Throws (failing the test, never skipping it) with the way to
 * install it when it is missing.
 */
export function requireTool(tool: Tool): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  assert.fail(`${tool} not found on PATH: run scripts/install-servers.sh (apt-get install ${packages[tool]})`);
}

export interface ToolResult {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tool` with an argument array (no shell) and returns its exit code and output; a non-zero
 * exit is returned, not thrown, so the caller's assertion can show the output.
 */
export async function runTool(
  tool: Tool,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const path = requireTool(tool);
  const command = [tool, ...args].join(' ');
  try {
    const { stdout, stderr } = await execFileAsync(path, args, {
      cwd: options.cwd ?? repoRoot,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { command, code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & {
      code?: number | string;
      stdout?: string;
      stderr?: string;
      killed?: boolean;
    };
    if (typeof e.code !== 'number') {
      // spawn failure or timeout: report it as a failed run with the reason
      return { command, code: -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}\n${e.message}` };
    }
    return { command, code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Asserts a tool run exited 0; the failure message carries the command, exit code and output. */
export function assertSucceeded(result: ToolResult): void {
  assert.equal(
    result.code,
    0,
    `\`${result.command}\` exited ${result.code}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`,
  );
}
