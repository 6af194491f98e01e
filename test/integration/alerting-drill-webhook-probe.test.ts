import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createAlertingDrillActivities } from '../../activities/alerting-drill';
import { createDrillDeliveryLog } from '../../lib/alerting/drill-deliveries';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { startWebhookServer, type WebhookServer } from '../../lib/webhook-server';
import { deployDir } from '../harness/alerting';
import { testConfig } from '../harness/config';
import { PAGERDUTY_ROUTING_KEY, startRecordingReceivers, type RecordingReceivers } from '../../dev-stack/recording-receivers';
import { tempDir } from '../harness/temp';

/**
 * The production delivery probe: `secdr webhook`'s /drill endpoints. The deployed routing tree's
 * on-call receiver gets a second integration, a webhook to /drill/critical with the same bearer
 * token as /watchdog, beside its PagerDuty integration; the drill reads /drill/deliveries.
 */
describe('alerting drill with secdr webhook as the delivery probe (real Alertmanager)', function () {
  this.timeout(120_000);
  const tmp = tempDir('drill-probe');
  const TOKEN = 'drill-probe-token-0123456789';
  let webhook: WebhookServer;
  let rx: RecordingReceivers;
  let am: HttpServer;

  before(async () => {
    rx = await startRecordingReceivers();
    webhook = await startWebhookServer({ host: '127.0.0.1', port: 0, onHeartbeat: async () => undefined, auth: { bearerToken: TOKEN }, drillDeliveries: createDrillDeliveryLog(), warn: () => undefined });
    const dir = join(tmp.dir, 'am');
    mkdirSync(dir, { recursive: true });
    const cfg = parse(readFileSync(join(deployDir, 'alertmanager', 'alertmanager.yml'), 'utf8')) as { route: { routes: { receiver: string; group_interval?: string }[] }; receivers: Record<string, unknown>[] };
    writeFileSync(join(dir, 'pd.key'), PAGERDUTY_ROUTING_KEY);
    writeFileSync(join(dir, 'token'), TOKEN);
    cfg.receivers = cfg.receivers.map((r) =>
      r.name === 'critical'
        ? {
            name: 'critical',
            pagerduty_configs: [{ routing_key_file: join(dir, 'pd.key'), url: `${rx.url}/pagerduty/v2/enqueue` }],
            webhook_configs: [{ url: `${webhook.url}/drill/critical`, send_resolved: true, http_config: { authorization: { credentials_file: join(dir, 'token') } } }],
          }
        : { name: r.name, webhook_configs: [{ url: `${rx.url}/webhook/${String(r.name)}` }] },
    );
    for (const r of cfg.route.routes) if (r.receiver === 'critical') r.group_interval = '5s';
    writeFileSync(join(dir, 'alertmanager.yml'), stringify(cfg));
    am = await startAlertmanager(dir, join(dir, 'alertmanager.yml'));
  });
  after(async () => {
    await am?.process.stop();
    await webhook?.close();
    await rx?.close();
    tmp.cleanup();
  });

  it('sees the notification and its resolution arrive at the on-call receiver through /drill/deliveries', async () => {
    const drill = createAlertingDrillActivities(testConfig(tmp.dir, { alertmanager: { url: am.url }, alertingDrill: { deliveryProbe: { url: `${webhook.url}/drill/deliveries` } } }));
    const labels = { alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: 'probe-1' };
    const { routes } = await drill.resolveDrillRoute({ labels });
    assert.deepEqual(routes[0].integrations.sort(), ['pagerduty', 'webhook']);
    const { postedAt } = await drill.postDrillAlert({ labels });
    const firing = await drill.waitForDelivery({ drillId: 'probe-1', status: 'firing', since: postedAt, route: routes[0].path, timeoutSeconds: 60 });
    assert.equal(firing.receiver, 'critical');
    const { postedAt: ended } = await drill.postDrillAlert({ labels, end: true });
    assert.equal((await drill.waitForDelivery({ drillId: 'probe-1', status: 'resolved', since: ended, route: routes[0].path, timeoutSeconds: 60 })).receiver, 'critical');
    assert.ok(rx.deliveries.some((d) => d.receiver === 'pagerduty' && d.drillIds.includes('probe-1')), 'PagerDuty got the same page');
  });

  it('does not record a forged delivery without the token', async () => {
    const forged = await fetch(`${webhook.url}/drill/critical`, {
      method: 'POST',
      body: JSON.stringify({ status: 'firing', alerts: [{ status: 'firing', labels: { drill_id: 'forged-1' } }] }),
    });
    assert.equal(forged.status, 401);
    const seen = (await (await fetch(`${webhook.url}/drill/deliveries?drill_id=forged-1`)).json()) as { deliveries: unknown[] };
    assert.deepEqual(seen.deliveries, []);
  });
});
