import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentConfig } from '../config/components';
import { fail, FailureType } from '../fail';
import type { ComponentState, PlatformAdapter, StopHooks, StopRecord } from './adapter';
import type { AdapterOptions } from './options';
import { readyUrlAnswers } from './ready-url';
import { runArgv, runArgvOk } from './run-argv';

type SystemdPlatform = Extract<ComponentConfig['platform'], { type: 'systemd' }>;

/** How long start() waits for readyUrl after systemctl start returned. */
const READY_TIMEOUT_MS = 120_000;

/** The argv this adapter runs for each action; exported so tests and docs show exactly what is run. */
export function systemctlArgv(action: 'is-active' | 'stop' | 'start', unit: string, systemctl = 'systemctl'): string[] {
  return action === 'is-active' ? [systemctl, 'is-active', '--quiet', unit] : [systemctl, action, unit];
}

/**
 * A systemd unit, through `systemctl` (argument arrays, no shell). The worker's user
 * needs the right to start and stop the unit (root, or a polkit rule for it).
 */
export class SystemdAdapter implements PlatformAdapter {
  constructor(
    private readonly name: string,
    private readonly cfg: SystemdPlatform,
    private readonly opts: AdapterOptions & { systemctl?: string } = {},
  ) {}

  private argv(action: 'is-active' | 'stop' | 'start'): string[] {
    return systemctlArgv(action, this.cfg.unit, this.opts.systemctl);
  }

  async status(): Promise<ComponentState> {
    const active = await this.active();
    const ready = active && (await this.ready());
    const detail = !active ? 'inactive' : ready ? 'active, ready' : `active, not ready at ${this.cfg.readyUrl}`;
    return { component: this.name, running: ready, detail: `systemd unit ${this.cfg.unit}: ${detail}` };
  }

  async stop(hooks: StopHooks = {}): Promise<StopRecord> {
    const record = { component: this.name, adapter: 'systemd' as const, stoppedAt: new Date().toISOString() };
    if (!(await this.active())) return { ...record, wasStopped: true };
    hooks.beforeStop?.(record);
    await runArgvOk(this.argv('stop'), `component ${this.name}: platform.unit`, { signal: this.opts.signal });
    if (await this.active()) {
      throw fail(FailureType.PlatformActionFailed, `component ${this.name}: systemd unit ${this.cfg.unit} is still active after systemctl stop`);
    }
    return record;
  }

  async start(record?: StopRecord): Promise<ComponentState> {
    if (record?.wasStopped) return this.status();
    if (!(await this.active())) {
      await runArgvOk(this.argv('start'), `component ${this.name}: platform.unit`, { signal: this.opts.signal });
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await this.ready())) {
      if (Date.now() > deadline) {
        throw fail(
          FailureType.PlatformActionFailed,
          `component ${this.name}: systemd unit ${this.cfg.unit} started but ${this.cfg.readyUrl} did not answer 2xx within ${READY_TIMEOUT_MS / 1000} s; see journalctl -u ${this.cfg.unit}`,
        );
      }
      this.opts.signal?.throwIfAborted();
      await sleep(500);
    }
    return this.status();
  }

  private async active(): Promise<boolean> {
    return (await runArgv(this.argv('is-active'), `component ${this.name}: platform.unit`, { signal: this.opts.signal })).code === 0;
  }

  private ready(): Promise<boolean> {
    return readyUrlAnswers(this.cfg.readyUrl);
  }
}
