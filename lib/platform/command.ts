import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentConfig } from '../config/components';
import { fail, FailureType } from '../fail';
import type { ComponentState, PlatformAdapter, StopHooks, StopRecord } from './adapter';
import type { AdapterOptions } from './options';
import { runArgv, runArgvOk } from './run-argv';

type CommandPlatform = Extract<ComponentConfig['platform'], { type: 'command' }>;

/** How long the status command may keep saying "not yet" after stop/start returned. */
const SETTLE_TIMEOUT_MS = 120_000;

/**
 * A user's own stop/start/status commands (argument arrays, never shell strings):
 * status exits 0 while the component runs and is ready. stop and start must exit 0;
 * a failure reports the command, its exit code and stderr.
 */
export class CommandAdapter implements PlatformAdapter {
  constructor(
    private readonly name: string,
    private readonly cfg: CommandPlatform,
    private readonly opts: AdapterOptions & { settleTimeoutMs?: number } = {},
  ) {}

  async status(): Promise<ComponentState> {
    const result = await runArgv(this.cfg.status, `component ${this.name}: platform.status`, { signal: this.opts.signal });
    const running = result.code === 0;
    const said = (result.stdout.trim() || result.stderr.trim()).split('\n')[0]?.slice(0, 200);
    return {
      component: this.name,
      running,
      detail: `command ${this.name}: ${running ? 'running' : `not running (status exit ${result.code})`}${said ? `: ${said}` : ''}`,
    };
  }

  async stop(hooks: StopHooks = {}): Promise<StopRecord> {
    const record = { component: this.name, adapter: 'command' as const, stoppedAt: new Date().toISOString() };
    if (!(await this.status()).running) return { ...record, wasStopped: true };
    hooks.beforeStop?.(record);
    await runArgvOk(this.cfg.stop, `component ${this.name}: platform.stop`, { signal: this.opts.signal });
    await this.settle(false);
    return record;
  }

  async start(record?: StopRecord): Promise<ComponentState> {
    if (record?.wasStopped) return this.status();
    if (!(await this.status()).running) {
      await runArgvOk(this.cfg.start, `component ${this.name}: platform.start`, { signal: this.opts.signal });
    }
    return this.settle(true);
  }

  private async settle(running: boolean): Promise<ComponentState> {
    const timeoutMs = this.opts.settleTimeoutMs ?? SETTLE_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.status();
      if (state.running === running) return state;
      if (Date.now() > deadline) {
        throw fail(
          FailureType.PlatformActionFailed,
          `component ${this.name}: ${running ? 'start' : 'stop'} command exited 0 but ${JSON.stringify(this.cfg.status)} ` +
            `still reports it ${running ? 'not running' : 'running'} after ${timeoutMs / 1000} s (${state.detail})`,
        );
      }
      this.opts.signal?.throwIfAborted();
      await sleep(250);
    }
  }
}
