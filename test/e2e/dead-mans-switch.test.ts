import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { EmergencyPage } from '../../activities/emergency-webhook';
import type { SecdrConfig } from '../../lib/config/schema';
import type { HttpServer } from '../../dev-stack/prometheus';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { httpAnswers, waitFor } from '../../dev-stack/wait';
import type { WebhookServer } from '../../lib/webhook-server';
import { deadMansSwitchStatusQuery } from '../../workflows/dead-mans-switch';
import { startWatchdogReceiver } from '../../scripts/commands/webhook';
import { deployDir, startAlertmanagerFromDeploy, startPrometheusWith, startSink } from '../harness/alerting';
import { testConfig } from '../harness/config';
import { startInProcessWorker, type InProcessWorker } from '../harness/in-process-worker';
import { tempDir } from '../harness/temp';

/**
 * The whole dead man's switch with real servers: Prometheus evaluates the real Watchdog rule
 * (deploy/prometheus/rules/meta-monitoring.yml), Alertmanager routes it with the real routing tree
 * (deploy/alertmanager/alertmanager.yml) to `secdr webhook`'s receiver, which signals the switch
 * workflow on a Temporal dev server served by the secdr worker; the worker pages a test receiver.
 *
 * Shortened for the test, and only these: scrape/evaluation interval 1 s (deployed 15 s); the
 * Watchdog route's group_interval 1 s and repeat_interval 2 s (deployed 1m/1m), so a heartbeat
 * arrives every ~2 s instead of every minute; the switch's window 10 s (default 300 s). Prometheus
 * keeps its default alert resend delay (1 min): after Alertmanager restarts it has no Watchdog until
 * Prometheus resends it, exactly as in production, so recovery takes up to a minute.
 */
describe("dead man's switch end to end (real Prometheus, Alertmanager, Temporal, worker, webhook)", function () {
  this.timeout(300_000);
  const WINDOW = 10;
  const tmp = tempDir('e2e-dms');
  let temporal: TemporalDevServer | undefined;
  let alertmanager: HttpServer | undefined;
  let prometheus: HttpServer | undefined;
  let webhook: WebhookServer | undefined;
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  let worker: InProcessWorker | undefined;
  let client: Client;
  let config: SecdrConfig;

  const token = `T0KEN-${randomUUID()}`;
  const pages = () => sink!.received.filter((r) => r.path === `/emergency/${token}`);

  before(async () => {
    sink = await startSink();
    const urlFile = join(tmp.dir, 'emergency-url');
    writeFileSync(urlFile, `${sink.url}/emergency/${token}\n`, { mode: 0o600 });
    // The deployed receiver sends a bearer token from a file (http_config.authorization); the webhook requires it.
    const watchdogTokenFile = join(tmp.dir, 'watchdog-token');
    writeFileSync(watchdogTokenFile, randomUUID(), { mode: 0o600 });
    config = testConfig(tmp.dir, {
      deadMansSwitch: {
        workflowId: `dms-${randomUUID()}`,
        windowSeconds: WINDOW,
        emergencyWebhook: { url: { file: urlFile } },
        listen: { host: '127.0.0.1', port: 0 },
        auth: { bearerToken: { file: watchdogTokenFile } },
      },
    });
    const taskQueue = `dms-e2e-${randomUUID()}`;

    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    worker = await startInProcessWorker(temporal, config, taskQueue);
    client = worker.client;
    webhook = await startWatchdogReceiver(client, config, { taskQueue });

    alertmanager = await startAlertmanagerFromDeploy(
      tmp.dir,
      { deadmansswitch: `${webhook.url}/watchdog`, critical: `${sink.url}/critical`, warning: `${sink.url}/warning` },
      { deadmansswitch: { group_wait: '0s', group_interval: '1s', repeat_interval: '2s' } },
      { deadmansswitch: watchdogTokenFile },
    );
    prometheus = await startPrometheusWith(tmp.dir, {
      intervalSeconds: 1,
      ruleFiles: [join(deployDir, 'prometheus', 'rules', 'meta-monitoring.yml')],
      alertmanagers: [new URL(alertmanager.url).host],
    });
  });

  after(async () => {
    await prometheus?.process.stop();
    await alertmanager?.process.stop();
    await webhook?.close();
    await worker?.close();
    await temporal?.process.stop();
    await sink?.close();
    tmp.cleanup();
  });

  const status = () => client.workflow.getHandle(config.deadMansSwitch!.workflowId).query(deadMansSwitchStatusQuery);

  it('keeps the switch alive with Watchdog heartbeats, pages once when Alertmanager stops, and resolves when it is back', async () => {
    // 1. Heartbeats flow: the first one started the workflow (signal-with-start), more keep coming.
    await waitFor(
      'the switch to receive 3 Watchdog heartbeats',
      async () => ((await status().catch(() => undefined))?.heartbeats ?? 0) >= 3,
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    assert.equal(pages().length, 0, 'no page while heartbeats arrive');
    assert.equal((await status()).paging, false);

    // 2. Alertmanager dies: the heartbeats stop, and after the window the emergency receiver is paged.
    await alertmanager!.process.stop();
    const firing = await waitFor('the firing page', async () => pages()[0], { timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(typeof firing.body, 'object', `the page is JSON: ${String(firing.body)}`);
    const page = firing.body as EmergencyPage;
    assert.deepEqual(Object.keys(page).sort(), ['lastHeartbeatAt', 'silenceSeconds', 'status', 'text']);
    assert.equal(page.status, 'firing');
    assert.ok(page.silenceSeconds >= WINDOW, `silence ${page.silenceSeconds} s`);
    assert.ok(page.lastHeartbeatAt && !Number.isNaN(Date.parse(page.lastHeartbeatAt)));
    assert.match(page.text, /no Watchdog heartbeat/);
    assert.equal((await status()).paging, true);

    // Still silent for another two windows: still exactly one page.
    await new Promise((r) => setTimeout(r, 2 * WINDOW * 1000));
    assert.equal(pages().length, 1, 'one page per silence');

    // 3. Alertmanager is back; once Prometheus resends the Watchdog, heartbeats resume and the page resolves.
    alertmanager!.process.start();
    await waitFor('alertmanager to be ready again', async () => httpAnswers(`${alertmanager!.url}/-/ready`));
    const resolved = await waitFor('the resolved message', async () => pages()[1], {
      timeoutMs: 150_000,
      intervalMs: 500,
    });
    const done = resolved.body as EmergencyPage;
    assert.equal(done.status, 'resolved');
    assert.ok(done.silenceSeconds >= page.silenceSeconds);
    assert.ok(Date.parse(done.lastHeartbeatAt!) > Date.parse(page.lastHeartbeatAt!));
    assert.equal((await status()).paging, false);
    assert.deepEqual(
      pages().map((p) => (p.body as EmergencyPage).status),
      ['firing', 'resolved'],
    );
  });
});
