import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogActivities } from '../../activities/logs';
import type { SecdrConfig } from '../../lib/config/schema';
import { victoriaLogsComponent, victoriaLogsSpec } from '../../dev-stack/victorialogs';
import { startVlagent, type Vlagent } from '../../dev-stack/vlagent';
import { waitFor } from '../../dev-stack/wait';
import { platformFor, type PlatformAdapter } from '../../lib/platform';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

/**
 * The log activities on the real pipeline: two VictoriaLogs servers (the primary a `process`
 * component stopped and started through the platform adapter) and vlagent tailing the canary
 * file with one on-disk queue per backend.
 */
describe('log pipeline activities on real VictoriaLogs ×2 and vlagent', function () {
  this.timeout(120_000);
  const tmp = tempDir('log-pipeline');
  let config: SecdrConfig;
  let primary: PlatformAdapter;
  let secondary: PlatformAdapter;
  let vlagent: Vlagent;
  let logs: ReturnType<typeof createLogActivities>;
  const since = new Date().toISOString();

  before(async () => {
    const [p, s] = await Promise.all([victoriaLogsSpec(tmp.dir, 'logs-primary'), victoriaLogsSpec(tmp.dir, 'logs-secondary')]);
    const canaryFile = join(tmp.dir, 'canary.log');
    config = testConfig(tmp.dir, {
      components: [victoriaLogsComponent(p), victoriaLogsComponent(s)],
      logPipeline: {
        primary: { type: 'victorialogs', url: p.url, component: p.name },
        secondary: { type: 'victorialogs', url: s.url, component: s.name },
        canary: { file: canaryFile },
      },
    });
    primary = platformFor(config.components[0]);
    secondary = platformFor(config.components[1]);
    await Promise.all([primary.start(), secondary.start()]);
    vlagent = await startVlagent({ dir: tmp.dir, tailFile: canaryFile, backends: [p.url, s.url] });
    logs = createLogActivities(config);
  });

  after(async () => {
    await vlagent?.process.stop();
    await Promise.all([primary?.stop(), secondary?.stop()]);
    tmp.cleanup();
  });

  const seen = (role: 'primary' | 'secondary', run: string) => logs.canariesIn({ role, run, since });

  it('reports both backends ready', async () => {
    for (const role of ['primary', 'secondary'] as const) {
      const r = await logs.logBackendReady({ role });
      assert.equal(r.ready, true, r.detail);
      assert.equal(r.component, `logs-${role}`);
    }
  });

  it('a canary appended to the tailed file reaches both backends, and only its own run counts it', async () => {
    await logs.emitCanary({ run: 'run-a', seq: 0 });
    await waitFor('canary 0 in both backends', async () => (await seen('primary', 'run-a')).includes(0) && (await seen('secondary', 'run-a')).includes(0), { timeoutMs: 30_000, intervalMs: 500 });
    assert.deepEqual(await seen('secondary', 'run-b'), []);
  });

  it('with the primary stopped the secondary gets every canary; after the restart the primary catches up from the disk queue', async () => {
    const stop = await primary.stop();
    assert.equal(stop.wasStopped, undefined);
    assert.equal((await logs.logBackendReady({ role: 'primary' })).ready, false);
    await assert.rejects(seen('primary', 'run-c'), /LogBackendUnavailable|VictoriaLogs query/);

    for (let seq = 1; seq <= 5; seq++) {
      await logs.emitCanary({ run: 'run-c', seq });
      await sleep(200);
    }
    await waitFor('canaries 1-5 in the secondary', async () => (await seen('secondary', 'run-c')).length === 5, { timeoutMs: 30_000, intervalMs: 500 });
    assert.deepEqual(await seen('secondary', 'run-c'), [1, 2, 3, 4, 5]);

    const state = await primary.start(stop);
    assert.equal(state.running, true, state.detail);
    // vlagent retries at most every 5 s here (-remoteWrite.retryMaxTime), so this is well within 30 s.
    await waitFor('canaries 1-5 in the restarted primary', async () => (await seen('primary', 'run-c')).length === 5, { timeoutMs: 30_000, intervalMs: 500 });
    assert.deepEqual(await seen('primary', 'run-c'), [1, 2, 3, 4, 5]);
  });

  it('posts canaries to an ingest URL as JSON lines (stream+json) when the config names one', async () => {
    const viaIngest = createLogActivities({ ...config, logPipeline: { ...config.logPipeline!, canary: { ingestUrl: `${vlagent.url}/insert/jsonline` } } });
    await viaIngest.emitCanary({ run: 'run-d', seq: 9 });
    await waitFor('the posted canary in both backends', async () => (await seen('primary', 'run-d')).includes(9) && (await seen('secondary', 'run-d')).includes(9), { timeoutMs: 30_000, intervalMs: 500 });
  });

  it('names the canary file setting when the file cannot be written', async () => {
    const bad = createLogActivities({ ...config, logPipeline: { ...config.logPipeline!, canary: { file: join(tmp.dir, 'no-such-dir', 'c.log') } } });
    await assert.rejects(bad.emitCanary({ run: 'x', seq: 1 }), /logPipeline\.canary\.file .*no-such-dir.*ENOENT.*directory must exist/);
  });
});
