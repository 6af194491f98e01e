import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { componentConfig } from '../../lib/config/components';
import { platformFor } from '../../lib/platform';
import { CommandAdapter } from '../../lib/platform/command';
import { tempDir } from '../harness/temp';

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

// The user's commands here are real programs (touch, rm, test) run as argument arrays:
// "running" is the existence of a marker file.
describe('command platform adapter (real commands, argument arrays)', () => {
  const tmp = tempDir('platform-command');
  const marker = join(tmp.dir, 'running');
  after(() => tmp.cleanup());

  const component = (overrides: Record<string, unknown> = {}) =>
    componentConfig.parse({
      name: 'ca',
      platform: { type: 'command', stop: ['rm', '-f', marker], start: ['touch', marker], status: ['test', '-e', marker], ...overrides },
    });

  it('stops with the stop command, starts with the start command and reads state from the status exit code', async () => {
    writeFileSync(marker, '');
    const adapter = platformFor(component());
    assert.equal((await adapter.status()).running, true);
    const record = await adapter.stop();
    assert.equal(existsSync(marker), false);
    assert.equal(record.adapter, 'command');
    assert.equal(record.wasStopped, undefined);
    assert.deepEqual(await adapter.status(), { component: 'ca', running: false, detail: 'command ca: not running (status exit 1)' });
    assert.equal((await adapter.start(record)).running, true);
    assert.equal(existsSync(marker), true);
  });

  it('leaves a component that was already stopped before the drill stopped', async () => {
    const adapter = platformFor(component());
    await adapter.stop();
    const record = await adapter.stop();
    assert.equal(record.wasStopped, true);
    assert.equal((await adapter.start(record)).running, false);
    assert.equal(existsSync(marker), false);
  });

  it('reports the command, its exit code and stderr when the stop command fails', async () => {
    writeFileSync(marker, '');
    const adapter = platformFor(component({ stop: ['ls', join(tmp.dir, 'no-such-file')] }));
    const err = await rejection(adapter.stop());
    assert.equal(err.type, 'PlatformActionFailed');
    assert.match(err.message, /^command \["ls",".*no-such-file"\] exited with code 2: ls: cannot access .*no-such-file.*No such file or directory/);
    assert.equal((err.details?.[0] as { exitCode: number }).exitCode, 2);
  });

  it('fails when start exits 0 but status never reports the component running', async () => {
    const adapter = new CommandAdapter('ca', component({ start: ['true'] }).platform as never, { settleTimeoutMs: 500 });
    await platformFor(component()).stop();
    const err = await rejection(adapter.start());
    assert.equal(err.type, 'PlatformActionFailed');
    assert.match(err.message, /component ca: start command exited 0 but \["test","-e",".*running"\] still reports it not running after 0\.5 s/);
  });

  it('names the field when a command is not installed', async () => {
    const err = await rejection(platformFor(component({ status: ['/nonexistent/ca-status'] })).status());
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, /^component ca: platform\.status: cannot run "\/nonexistent\/ca-status" \(ENOENT\); give an installed executable/);
  });
});
