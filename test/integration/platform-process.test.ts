import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ComponentConfig } from '../../lib/config/components';
import { componentConfig } from '../../lib/config/components';
import { freePort } from '../../dev-stack/ports';
import { componentByName, platformFor } from '../../lib/platform';
import { ProcessAdapter } from '../../lib/platform/process';
import { tempDir } from '../harness/temp';
import { processAlive } from '../../dev-stack/supervisor';

// A real HTTP server; with "with-child" it also forks a long-lived child (the group must die with it),
// with "ignore-term" it shrugs off SIGTERM (the adapter must SIGKILL it after the grace period).
const SERVER = `
const http = require('node:http');
const { spawn } = require('node:child_process');
const [port, mode] = process.argv.slice(2);
if (mode === 'with-child') console.log('child ' + spawn('sleep', ['300'], { stdio: 'ignore' }).pid);
if (mode === 'ignore-term') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
http.createServer((_q, r) => r.end('ok')).listen(Number(port), '127.0.0.1', () => console.log('listening ' + port));
`;


/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(text) && processAlive(Number(pid)) ? [`${pid} ${cmd}`] : [];
      } catch {
        return [];
      }
    });
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

function failureOf(err: unknown): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('process platform adapter (real child processes)', () => {
  const tmp = tempDir('platform-process');
  const script = join(tmp.dir, 'server.js');
  const started: ComponentConfig[] = [];
  writeFileSync(script, SERVER);

  async function component(name: string, mode = '', extra: Record<string, unknown> = {}): Promise<ComponentConfig & { url: string }> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const c = componentConfig.parse({
      name,
      platform: {
        type: 'process',
        command: [process.execPath, script, String(port), ...(mode ? [mode] : [])],
        pidFile: join(tmp.dir, `${name}.pid`),
        logFile: join(tmp.dir, 'logs', `${name}.log`),
        readyUrl: url,
        readyTimeoutSeconds: 20,
        ...extra,
      },
    });
    started.push(c);
    return { ...c, url };
  }

  after(async () => {
    // Whatever a failed test left running goes, through the adapter itself.
    for (const c of started) await new ProcessAdapter(c.name, c.platform as never, { stopGraceMs: 500 }).stop();
    const leaked = processesMentioning(tmp.dir);
    tmp.cleanup();
    assert.deepEqual(leaked, [], 'no process started by these tests is left running');
  });

  it('starts the argv detached with its pid in pidFile and output in logFile, and waits until readyUrl answers', async () => {
    const c = await component('web');
    const state = await platformFor(c).start();
    assert.equal(state.running, true);
    assert.match(state.detail, /^process web: pid \d+, ready$/);
    const pid = Number(readFileSync(join(tmp.dir, 'web.pid'), 'utf8'));
    assert.ok(processAlive(pid));
    assert.equal(await answers(c.url), true);
    assert.match(readFileSync(join(tmp.dir, 'logs', 'web.log'), 'utf8'), /secdr starts web: .*\n(.|\n)*listening \d+/);
    await platformFor(c).stop();
  });

  it('stops the whole process group (the server and the child it forked) and removes the pid file', async () => {
    const c = await component('forking', 'with-child');
    const adapter = platformFor(c);
    await adapter.start();
    const pid = Number(readFileSync(join(tmp.dir, 'forking.pid'), 'utf8'));
    const childPid = Number(/child (\d+)/.exec(readFileSync(join(tmp.dir, 'logs', 'forking.log'), 'utf8'))?.[1]);
    assert.ok(processAlive(childPid), 'the forked child runs before stop');

    const record = await adapter.stop();
    assert.deepEqual({ ...record, stoppedAt: 'x' }, { component: 'forking', adapter: 'process', stoppedAt: 'x' });
    assert.equal(processAlive(pid), false);
    assert.equal(processAlive(childPid), false, 'the forked child died with its group');
    assert.equal(existsSync(join(tmp.dir, 'forking.pid')), false);
    assert.equal(await answers(c.url), false);
    const state = await adapter.status();
    assert.deepEqual(state, { component: 'forking', running: false, detail: 'process forking: not running' });
  });

  it('is idempotent: a second start keeps the same process, a second stop reports it was already stopped, and start(record) leaves an already-stopped component stopped', async () => {
    const c = await component('idem');
    const adapter = platformFor(c);
    await adapter.start();
    const pid = readFileSync(join(tmp.dir, 'idem.pid'), 'utf8');
    await adapter.start();
    assert.equal(readFileSync(join(tmp.dir, 'idem.pid'), 'utf8'), pid);

    const first = await adapter.stop();
    assert.equal(first.wasStopped, undefined);
    const second = await adapter.stop();
    assert.equal(second.wasStopped, true);
    const state = await adapter.start(second);
    assert.equal(state.running, false, 'a component that was already stopped before the drill stays stopped');
    assert.equal(await answers(c.url), false);
    assert.equal((await adapter.start(first)).running, true, 'the record of a real stop starts it again');
    await adapter.stop();
  });

  it('outlives the worker that started it: after that worker is SIGKILLed, a new one sees it running, stops it and starts it again', async () => {
    const c = await component('handover');
    const helper = join(tmp.dir, 'worker.ts');
    writeFileSync(
      helper,
      `import { platformFor } from ${JSON.stringify(resolve('lib/platform'))};
       const c = JSON.parse(process.argv[2]);
       platformFor(c).start().then((s) => { console.log('STARTED ' + JSON.stringify(s)); setInterval(() => {}, 1000); });`,
    );
    // node --import tsx, not the tsx launcher: the SIGKILL must hit the worker itself, as a crash would.
    const worker = spawn(process.execPath, ['--import', 'tsx', helper, JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((ok, ko) => {
      let out = '';
      worker.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('STARTED')) ok();
      });
      worker.on('exit', (code) => ko(new Error(`helper worker exited with ${code}: ${out}`)));
    });
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));

    const replacement = platformFor(c);
    assert.equal((await replacement.status()).running, true, 'the server survived its worker');
    const record = await replacement.stop();
    assert.equal(await answers(c.url), false);
    assert.equal((await replacement.start(record)).running, true);
    assert.equal(await answers(c.url), true);
    await replacement.stop();
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over', async () => {
    const c = await component('stubborn', 'ignore-term');
    const adapter = new ProcessAdapter(c.name, c.platform as never, { stopGraceMs: 1000 });
    await adapter.start();
    const pid = Number(readFileSync(join(tmp.dir, 'stubborn.pid'), 'utf8'));
    await adapter.stop();
    assert.equal(processAlive(pid), false);
    assert.match(readFileSync(join(tmp.dir, 'logs', 'stubborn.log'), 'utf8'), /ignoring SIGTERM(.|\n)*$/);
  });

  it('fails with the log tail when the command exits during start-up, and with PlatformActionFailed naming readyTimeoutSeconds when readyUrl never answers', async () => {
    const dies = await component('dies');
    (dies.platform as { command: string[] }).command = [process.execPath, '-e', 'console.error("bad flag --frobnicate"); process.exit(3)'];
    const err = failureOf(await platformFor(dies).start().then(() => undefined, (e: unknown) => e));
    assert.equal(err.type, 'PlatformActionFailed');
    assert.match(err.message, /component dies: .* exited during start-up; last lines of .*dies\.log:\n(.|\n)*bad flag --frobnicate/);

    const deaf = await component('deaf', '', { readyTimeoutSeconds: 1 });
    (deaf.platform as { readyUrl: string }).readyUrl = `http://127.0.0.1:${await freePort()}/`;
    const err2 = failureOf(await platformFor(deaf).start().then(() => undefined, (e: unknown) => e));
    assert.equal(err2.type, 'PlatformActionFailed');
    assert.match(err2.message, /component deaf: pid \d+ is running but http:\/\/127\.0\.0\.1:\d+\/ did not answer 2xx within 1 s \(platform\.readyTimeoutSeconds\)/);
    await platformFor(deaf).stop();
  });

  it('rejects a missing executable and a corrupt pid file with InvalidInput saying what to fix', async () => {
    const missing = await component('missing');
    (missing.platform as { command: string[] }).command = ['/nonexistent/secdr-no-such-server', '--port', '1'];
    const err = failureOf(await platformFor(missing).start().then(() => undefined, (e: unknown) => e));
    assert.equal(err.type, 'InvalidInput');
    assert.match(err.message, /component missing: platform\.command .*could not be started; check that "\/nonexistent\/secdr-no-such-server" is installed/);

    const corrupt = await component('corrupt');
    writeFileSync(join(tmp.dir, 'corrupt.pid'), 'hello\n');
    const err2 = failureOf(await platformFor(corrupt).status().then(() => undefined, (e: unknown) => e));
    assert.equal(err2.type, 'InvalidInput');
    assert.match(err2.message, /pid file .*corrupt\.pid holds "hello", not a pid; remove it/);
    rmSync(join(tmp.dir, 'corrupt.pid'));
  });

  it('names an unknown component and lists the configured ones', () => {
    const config = { components: [componentConfig.parse({ name: 'logs-primary', platform: { type: 'systemd', unit: 'victorialogs.service' } })] };
    assert.equal(componentByName(config, 'logs-primary').name, 'logs-primary');
    const err = failureOf((() => { try { componentByName(config, 'logs-secondary'); } catch (e) { return e; } })());
    assert.equal(err.type, 'InvalidInput');
    assert.equal(
      err.message,
      'unknown component "logs-secondary"; configured components: logs-primary; add it under components: in the config (name + platform) or fix the name',
    );
  });
});
