import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogActivities } from '../../activities/logs';
import { freePort } from '../../dev-stack/ports';
import { deployDir, startSink } from '../harness/alerting';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

/**
 * The both-down variant's detector step (hostDetectorFindings) running the real
 * deploy/host/secdr-degraded-check.sh against real HTTP endpoints on loopback.
 */
describe('log-failover host-level detector step (real deploy/host script, loopback endpoints)', function () {
  this.timeout(60_000);
  const tmp = tempDir('log-host-detector');
  let sink: Awaited<ReturnType<typeof startSink>>;
  const token = randomBytes(8).toString('hex');

  before(async () => {
    sink = await startSink();
  });
  after(async () => {
    await sink?.close();
    tmp.cleanup();
  });

  /** Activities whose primary backend answers at `primaryUrl` and whose detector pages `webhookUrl`. */
  function activities(primaryUrl: string, webhookUrl: string, script = join(deployDir, 'host', 'secdr-degraded-check.sh')) {
    const urlFile = join(tmp.dir, `webhook-${randomBytes(4).toString('hex')}.url`);
    writeFileSync(urlFile, `${webhookUrl}\n`, { mode: 0o600 });
    const config = testConfig(tmp.dir, {
      components: [
        { name: 'p', platform: { type: 'command', stop: ['true'], start: ['true'], status: ['true'] } },
        { name: 's', platform: { type: 'command', stop: ['true'], start: ['true'], status: ['true'] } },
      ],
      logPipeline: {
        primary: { type: 'victorialogs', url: primaryUrl, component: 'p' },
        secondary: { type: 'victorialogs', url: 'http://127.0.0.1:1', component: 's' },
        canary: { file: join(tmp.dir, 'canary.log') },
        hostDetector: { script, emergencyWebhook: { file: urlFile } },
      },
    });
    return createLogActivities(config);
  }

  it('pages the emergency webhook once when the central log endpoint is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await activities(down, `${sink.url}/page/${token}`).hostDetectorFindings();
    assert.equal(r?.exitCode, 1);
    assert.equal(r.sentToEmergencyWebhook, true, r.detail);
    assert.equal(r.findings.length, 1);
    assert.match(r.findings[0], new RegExp(`central log endpoint ${down.replace(/\./g, '\\.')}/health is not ready`));
    const pages = sink.received.filter((x) => x.path === `/page/${token}`);
    assert.equal(pages.length, 1);
    assert.ok(!JSON.stringify(r).includes(token), 'the result carries no part of the webhook URL');
  });

  it('finds nothing and pages no one while the central log endpoint answers', async () => {
    const before = sink.received.length;
    const r = await activities(sink.url, `${sink.url}/page/${token}-up`).hostDetectorFindings();
    assert.equal(r?.exitCode, 0);
    assert.equal(r.sentToEmergencyWebhook, false);
    assert.deepEqual(r.findings, []);
    assert.equal(sink.received.slice(before).filter((x) => x.path.startsWith('/page/')).length, 0);
  });

  it('reports an undeliverable page as not sent, with the detector\'s warning', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await activities(down, `http://127.0.0.1:${await freePort()}/nobody`).hostDetectorFindings();
    assert.equal(r?.exitCode, 1);
    assert.equal(r.sentToEmergencyWebhook, false);
    assert.match(r.detail, /emergency webhook delivery failed/);
  });

  it('fails as InvalidInput naming logPipeline.hostDetector.script when the script is not installed', async () => {
    await assert.rejects(activities('http://127.0.0.1:1', `${sink.url}/x`, join(tmp.dir, 'missing.sh')).hostDetectorFindings(), (err: Error & { type?: string }) => {
      assert.equal(err.type, 'InvalidInput');
      assert.match(err.message, /logPipeline\.hostDetector\.script .*missing\.sh: the host-level detector did not run \(no such file\); install deploy\/host\/secdr-degraded-check\.sh/);
      return true;
    });
  });
});
