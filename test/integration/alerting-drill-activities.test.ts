import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { stringify } from 'yaml';
import { createAlertingDrillActivities } from '../../activities/alerting-drill';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { testConfig } from '../harness/config';
import { PAGERDUTY_ROUTING_KEY as ROUTING_KEY, startRecordingReceivers, writeDeployedAlertmanagerConfig, type PagerDutyEvent, type RecordingReceivers } from '../../dev-stack/recording-receivers';
import { tempDir } from '../harness/temp';

const typeOf = (err: unknown) => (err instanceof ApplicationFailure ? err.type : String(err));

describe('alerting drill activities against a real Alertmanager and recording receivers', function () {
  this.timeout(120_000);
  const tmp = tempDir('alerting-drill');
  let rx: RecordingReceivers;
  let am: HttpServer;
  let drill: ReturnType<typeof createAlertingDrillActivities>;
  const labelsFor = (id: string) => ({ alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: id });

  before(async () => {
    rx = await startRecordingReceivers();
    const dir = join(tmp.dir, 'am');
    mkdirSync(dir, { recursive: true });
    am = await startAlertmanager(dir, writeDeployedAlertmanagerConfig(dir, rx));
    drill = createAlertingDrillActivities(
      testConfig(tmp.dir, { alertmanager: { url: am.url }, alertingDrill: { deliveryProbe: { url: rx.probeUrl }, expectReceiver: 'critical' } }),
    );
  });
  after(async () => {
    await am?.process.stop();
    await rx?.close();
    tmp.cleanup();
  });

  it('resolves the route from the config Alertmanager runs: critical, webhook + pagerduty, group_wait 10 s', async () => {
    const { routes } = await drill.resolveDrillRoute({ labels: labelsFor('resolve-1') });
    assert.equal(routes.length, 1);
    assert.equal(routes[0].receiver, 'critical');
    assert.deepEqual(routes[0].integrations.sort(), ['pagerduty', 'webhook']);
    assert.equal(routes[0].groupWaitSeconds, 10);
  });

  it('delivers the drill alert to the on-call receiver after group_wait, then its resolution, to the webhook and PagerDuty', async () => {
    const labels = labelsFor('drill-happy-1');
    const { routes } = await drill.resolveDrillRoute({ labels });
    const { postedAt } = await drill.postDrillAlert({ labels });
    assert.deepEqual(await drill.checkDrillAlertActive({ labels, route: routes[0].path }), { receivers: ['critical'] });
    const firing = await drill.waitForDelivery({ drillId: labels.drill_id, status: 'firing', since: postedAt, route: routes[0].path, timeoutSeconds: 60 });
    assert.ok(firing.delaySeconds >= 9.5, `delivered after ${firing.delaySeconds} s: group_wait (10 s) must pass first`);
    assert.ok(firing.delaySeconds < 30, `delivered after ${firing.delaySeconds} s`);

    const { postedAt: endedAt } = await drill.postDrillAlert({ labels, end: true });
    const resolved = await drill.waitForDelivery({ drillId: labels.drill_id, status: 'resolved', since: endedAt, route: routes[0].path, timeoutSeconds: 60 });
    assert.ok(Date.parse(resolved.receivedAt) >= Date.parse(firing.receivedAt));

    // Both integrations of the receiver got both notifications.
    const mine = rx.deliveries.filter((d) => d.drillIds.includes(labels.drill_id));
    assert.deepEqual(new Set(mine.map((d) => `${d.receiver}:${d.status}`)), new Set(['webhook/critical:firing', 'webhook/critical:resolved', 'pagerduty/critical:firing', 'pagerduty/critical:resolved']));
    assert.deepEqual(rx.refused, [], 'the PagerDuty-shaped receiver accepted every event');

    // The payload Alertmanager really sends to PagerDuty's Events API v2.
    const [trigger, resolve] = ['firing', 'resolved'].map((s) => mine.find((d) => d.receiver === 'pagerduty/critical' && d.status === s)!.body as PagerDutyEvent);
    assert.equal(trigger.routing_key, ROUTING_KEY, 'the key read from routing_key_file');
    assert.equal(trigger.event_action, 'trigger');
    assert.match(trigger.payload!.summary, /^\[FIRING:1\] DR_DRILL_TEST/);
    assert.equal(trigger.client, 'Alertmanager');
    assert.match(JSON.stringify(trigger.payload!.custom_details), /drill_id = drill-happy-1/);
    assert.equal(resolve.event_action, 'resolve');
    assert.equal(resolve.dedup_key, trigger.dedup_key, 'the resolve closes the incident the trigger opened');
  });

  it('fails naming the silence and the route when a silence would swallow the page', async () => {
    const labels = labelsFor('drill-silenced-1');
    const now = new Date();
    const res = await fetch(`${am.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'severity', value: 'critical', isRegex: false, isEqual: true }],
        startsAt: now.toISOString(),
        endsAt: new Date(now.getTime() + 600_000).toISOString(),
        createdBy: 'maintenance-bot',
        comment: 'db migration',
      }),
    });
    const { silenceID } = (await res.json()) as { silenceID: string };
    try {
      await assert.rejects(drill.resolveDrillRoute({ labels }), (err: Error) => {
        assert.equal(typeOf(err), 'AlertRouteSwallowed');
        assert.match(err.message, new RegExp(`silence ${silenceID} by maintenance-bot \\("db migration"\\)`));
        assert.match(err.message, /route\.routes\[1\] \{severity="critical"\} → receiver "critical"/);
        return true;
      });
    } finally {
      await fetch(`${am.url}/api/v2/silence/${silenceID}`, { method: 'DELETE' });
    }
  });

  it('fails when the route reaches another receiver than the expected one', async () => {
    const other = createAlertingDrillActivities(
      testConfig(tmp.dir, { alertmanager: { url: am.url }, alertingDrill: { deliveryProbe: { url: rx.probeUrl }, expectReceiver: 'pagerduty-secops' } }),
    );
    await assert.rejects(other.resolveDrillRoute({ labels: labelsFor('drill-wrong-1') }), /routed to route\.routes\[1\].*not to the expected receiver "pagerduty-secops"/);
  });

  it('does not count a notification that arrives at another receiver than the route resolved to', async () => {
    // The route resolved for the drill alert: route.routes[1] → critical. Then the alert that is
    // posted takes another path (as after a config reload or a relabelling): severity warning →
    // the warning receiver. Its notification arrives, but not where the on-call person is paged.
    const resolved = (await drill.resolveDrillRoute({ labels: labelsFor('drill-elsewhere-1') })).routes[0];
    assert.equal(resolved.receiver, 'critical');
    const labels = { ...labelsFor('drill-elsewhere-1'), severity: 'warning' };
    const { postedAt } = await drill.postDrillAlert({ labels });
    try {
      await assert.rejects(
        // Looked up from the path alone, as the workflow calls it: the receiver at route.routes[1] is critical.
        drill.waitForDelivery({ drillId: labels.drill_id, status: 'firing', since: postedAt, route: resolved.path, timeoutSeconds: 30 }),
        (err: Error) => {
          assert.equal(typeOf(err), 'AlertNotDelivered');
          assert.match(err.message, /reached the expected receiver "critical" on route\.routes\[1\] \{severity="critical"\} within 30 s; it arrived at "webhook\/warning" instead/);
          return true;
        },
      );
      // It did arrive (group_wait 15 s on the warning route): the drill refused it, it did not miss it.
      assert.ok(rx.deliveries.some((d) => d.receiver === 'webhook/warning' && d.drillIds.includes(labels.drill_id)));
    } finally {
      await drill.postDrillAlert({ labels, end: true });
    }
  });

  it('fails naming the route when the route it was resolved to is gone from the running tree', async () => {
    await assert.rejects(
      drill.waitForDelivery({ drillId: 'gone-1', status: 'firing', since: new Date().toISOString(), route: 'route.routes[7] {team="gone"}', timeoutSeconds: 2 }),
      (err: Error) => typeOf(err) === 'AlertRouteSwallowed' && /route\.routes\[7\] \{team="gone"\} the drill alert was resolved to is no longer in the routing tree/.test(err.message),
    );
  });

  it('says which probe failed when no notification arrives in time', async () => {
    const broken = createAlertingDrillActivities(testConfig(tmp.dir, { alertmanager: { url: am.url }, alertingDrill: { deliveryProbe: { url: `${rx.url}/nothing-here` } } }));
    await assert.rejects(
      broken.waitForDelivery({ drillId: 'never', status: 'firing', since: new Date().toISOString(), route: 'route.routes[1]', receiver: 'critical', timeoutSeconds: 2 }),
      (err: Error) => typeOf(err) === 'AlertNotDelivered' && /within 2 s; delivery probe http:\/\/127\.0\.0\.1:\d+\/nothing-here: answered 405/.test(err.message),
    );
  });
});

describe('alerting drill activities: a routing tree that swallows the drill alert', function () {
  this.timeout(60_000);
  const tmp = tempDir('alerting-drill-bad');
  let am: HttpServer;
  let drill: ReturnType<typeof createAlertingDrillActivities>;
  before(async () => {
    const file = join(tmp.dir, 'alertmanager.yml');
    writeFileSync(
      file,
      stringify({
        route: { receiver: 'blackhole', routes: [{ receiver: 'tickets', matchers: ['severity="warning"'] }] },
        inhibit_rules: [{ source_matchers: ['alertname="MaintenanceWindow"'], target_matchers: ['severity="critical"'] }],
        receivers: [{ name: 'blackhole' }, { name: 'tickets', webhook_configs: [{ url: 'http://127.0.0.1:9/t' }] }],
      }),
    );
    am = await startAlertmanager(join(tmp.dir, 'am'), file);
    drill = createAlertingDrillActivities(testConfig(tmp.dir, { alertmanager: { url: am.url }, alertingDrill: { deliveryProbe: { url: 'http://127.0.0.1:9/deliveries' } } }));
  });
  after(async () => {
    await am?.process.stop();
    tmp.cleanup();
  });

  it('fails naming the route when it ends in a receiver that notifies nobody', async () => {
    await assert.rejects(drill.resolveDrillRoute({ labels: { alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: 'x' } }), (err: Error) => {
      assert.equal(typeOf(err), 'AlertRouteSwallowed');
      assert.match(err.message, /routed to route → receiver "blackhole", which notifies nobody/);
      return true;
    });
  });

  it('fails naming the inhibiting alert when an inhibit rule suppresses the drill alert', async () => {
    await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'MaintenanceWindow', severity: 'info' } }]),
    });
    const labels = { alertname: 'DR_DRILL_TEST', severity: 'critical', drill_id: 'inhibited-1' };
    await drill.postDrillAlert({ labels });
    await assert.rejects(drill.checkDrillAlertActive({ labels, route: 'route' }), (err: Error) => {
      assert.equal(typeOf(err), 'AlertRouteSwallowed');
      assert.match(err.message, /the drill alert on route is inhibited by firing alert [0-9a-f]+/);
      return true;
    });
  });
});
