import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentConfig } from '../config/components';
import { fail, FailureType } from '../fail';
import type { ComponentState, PlatformAdapter, StopHooks, StopRecord } from './adapter';
import type { AdapterOptions } from './options';
import { readyUrlAnswers } from './ready-url';

type ProcessPlatform = Extract<ComponentConfig['platform'], { type: 'process' }>;

/**
 * Run by /bin/sh as the component's first instruction: write its own pid to the pid file ($0),
 * then become the component (exec keeps the pid). The worker writes the same pid after spawn,
 * but a worker SIGKILLed between the fork and that write would leave a component no pid file
 * names: a replacement worker then starts a second one, the stray answers its readiness check,
 * and a later stop kills the wrong process while the stray keeps serving. The CA crash test hit
 * exactly that when a worker died during startComponent.
 */
const RECORD_OWN_PID = 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"';

/** Whether `command` names an executable file, as exec would find it (PATH for a bare name). */
function findsExecutable(command: string, cwd: string | undefined, path: string): boolean {
  const candidates = command.includes('/')
    ? [resolve(cwd ?? '.', command)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, command));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/** Options of the process adapter beyond the common ones. */
export interface ProcessAdapterOptions extends AdapterOptions {
  /** Milliseconds between SIGTERM and SIGKILL when stopping. Default 10 000. */
  stopGraceMs?: number;
}

/**
 * The local supervisor: runs the configured argv detached in its own process group,
 * with its pid in `pidFile` and its output appended to `logFile`. Everything it knows
 * lives in those files, not in this object, so a worker that replaced a killed one
 * can stop or start what the old one started.
 */
export class ProcessAdapter implements PlatformAdapter {
  constructor(
    private readonly name: string,
    private readonly cfg: ProcessPlatform,
    private readonly opts: ProcessAdapterOptions = {},
  ) {}

  async status(): Promise<ComponentState> {
    const pid = this.livePid();
    if (pid === undefined) return this.state(false, 'not running');
    const ready = await this.ready();
    return this.state(ready, ready ? `pid ${pid}, ready` : `pid ${pid}, not ready at ${this.cfg.readyUrl}`);
  }

  async stop(hooks: StopHooks = {}): Promise<StopRecord> {
    const record = { component: this.name, adapter: 'process' as const, stoppedAt: new Date().toISOString() };
    const pid = this.livePid();
    if (pid === undefined) {
      rmSync(this.cfg.pidFile, { force: true });
      return { ...record, wasStopped: true };
    }
    hooks.beforeStop?.(record);
    signalGroup(pid, 'SIGTERM');
    if (!(await this.groupGone(pid, this.opts.stopGraceMs ?? 10_000))) {
      signalGroup(pid, 'SIGKILL');
      if (!(await this.groupGone(pid, 5_000))) {
        throw fail(FailureType.PlatformActionFailed, `component ${this.name}: process group ${pid} survived SIGKILL`, { pid });
      }
    }
    rmSync(this.cfg.pidFile, { force: true });
    return record;
  }

  async start(record?: StopRecord): Promise<ComponentState> {
    if (record?.wasStopped) return this.status();
    let pid = this.livePid();
    if (pid === undefined) pid = this.spawn();
    await this.waitReady(pid);
    return this.status();
  }

  private spawn(): number {
    const [command, ...args] = this.cfg.command;
    mkdirSync(dirname(this.cfg.logFile), { recursive: true });
    mkdirSync(dirname(this.cfg.pidFile), { recursive: true });
    const log = openSync(this.cfg.logFile, 'a');
    try {
      writeFileSync(log, `\n--- ${new Date().toISOString()} secdr starts ${this.name}: ${JSON.stringify(this.cfg.command)}\n`);
      const env = { ...process.env, ...this.cfg.env };
      // Checked here because the shell below would start even when the command cannot.
      if (!findsExecutable(command, this.cfg.cwd, env.PATH ?? '')) throw this.cannotStart(command);
      // Detached, own group, output straight to the file and unref'd: it must outlive this worker.
      const child = spawn('/bin/sh', ['-c', RECORD_OWN_PID, resolve(this.cfg.pidFile), command, ...args], {
        cwd: this.cfg.cwd,
        env,
        detached: true,
        stdio: ['ignore', log, log],
      });
      child.on('error', () => {
        /* reported below via the missing pid or through waitReady's dead-process check */
      });
      if (child.pid === undefined) throw this.cannotStart(command);
      child.unref();
      writeFileSync(this.cfg.pidFile, `${child.pid}\n`);
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  private cannotStart(command: string): Error {
    return fail(
      FailureType.InvalidInput,
      `component ${this.name}: platform.command ${JSON.stringify(this.cfg.command)} could not be started; ` +
        `check that ${JSON.stringify(command)} is installed and executable (absolute path or on the worker's PATH)`,
    );
  }

  private async waitReady(pid: number): Promise<void> {
    const deadline = Date.now() + this.cfg.readyTimeoutSeconds * 1000;
    for (;;) {
      if (!isAlive(pid)) {
        rmSync(this.cfg.pidFile, { force: true });
        throw fail(
          FailureType.PlatformActionFailed,
          `component ${this.name}: ${JSON.stringify(this.cfg.command)} exited during start-up; last lines of ${this.cfg.logFile}:\n${tail(this.cfg.logFile)}`,
        );
      }
      if (await this.ready()) return;
      if (Date.now() > deadline) {
        throw fail(
          FailureType.PlatformActionFailed,
          `component ${this.name}: pid ${pid} is running but ${this.cfg.readyUrl} did not answer 2xx within ${this.cfg.readyTimeoutSeconds} s ` +
            `(platform.readyTimeoutSeconds); last lines of ${this.cfg.logFile}:\n${tail(this.cfg.logFile)}`,
        );
      }
      this.opts.signal?.throwIfAborted();
      await sleep(200);
    }
  }

  private ready(): Promise<boolean> {
    return readyUrlAnswers(this.cfg.readyUrl);
  }

  /** The pid from pidFile when that process is alive (and not a zombie). */
  private livePid(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.cfg.pidFile, 'utf8').trim();
    } catch {
      return undefined;
    }
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 1) {
      throw fail(
        FailureType.InvalidInput,
        `component ${this.name}: pid file ${this.cfg.pidFile} holds ${JSON.stringify(text.slice(0, 40))}, not a pid; ` +
          'remove it if no such process runs, or point platform.pidFile elsewhere',
      );
    }
    return isAlive(pid) ? pid : undefined;
  }

  private async groupGone(pid: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!groupAlive(pid)) return true;
      await sleep(100);
    }
    return !groupAlive(pid);
  }

  private state(running: boolean, detail: string): ComponentState {
    return { component: this.name, running, detail: `process ${this.name}: ${detail}` };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited child not yet reaped by its parent still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** True while a member of the process group runs (a zombie leader awaiting its reaper does not count). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      /* exited meanwhile */
    }
  }
  return false;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
