import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { GiveUp } from './wait';

/** What to run; arguments are an array, never a shell string. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user id (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** stdout and stderr are appended here, so a failed test can print them. */
  logFile: string;
}

const running = new Set<ManagedProcess>();

/**
 * A server process in its own process group, so stopping it also stops its
 * children. Every started process is tracked; `stopAll` ends the ones still up
 * (the test harness and the demo call it on exit, failure and interrupt).
 */
export class ManagedProcess {
  private child?: ChildProcess;
  private log?: WriteStream;
  private exitCode: number | null = null;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): this {
    if (this.alive) return this;
    const { command, args, env, cwd, uid, gid, logFile } = this.spec;
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.log.write(`\n--- ${new Date().toISOString()} start: ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      env: env ?? process.env,
      cwd,
      uid,
      gid,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.log?.write(`--- exit code=${code} signal=${signal}\n`);
    });
    child.on('error', (err) => this.log?.write(`--- spawn error: ${err.message}\n`));
    this.child = child;
    running.add(this);
    return this;
  }

  /** Fails fast with the server's log when it died during start-up. */
  assertAlive(): void {
    if (!this.alive) {
      throw new GiveUp(`${this.spec.name} exited (code ${this.exitCode}) during start-up; log:\n${this.tail()}`);
    }
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    running.delete(this);
    if (!child || child.pid === undefined) return;
    if (this.alive) {
      const exited = once(child, 'exit');
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    // Children that outlived the leader (e.g. forked workers) go too.
    signalGroup(child.pid, 'SIGKILL');
    this.child = undefined;
  }

  /** Last `lines` lines of the server's log. */
  tail(lines = 60): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The processes started through this module that have not been stopped. */
export function runningProcesses(): ManagedProcess[] {
  return [...running];
}

/** Stops every process started through this module that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Synchronous last resort for process exit: no awaiting possible there. */
export function killAllNow(): void {
  for (const p of running) {
    if (p.pid !== undefined) signalGroup(p.pid, 'SIGKILL');
  }
  running.clear();
}

let hooked = false;
/** Makes sure servers die with this process, on normal exit and on Ctrl-C/SIGTERM. */
export function stopAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** True while `pid` runs (a zombie does not count). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
