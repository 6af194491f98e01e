import assert from 'node:assert/strict';
import { startWebhookServer, type WebhookServer } from '../../lib/webhook-server';
import type { Heartbeat } from '../../workflows/dead-mans-switch';

/** An Alertmanager v4 webhook delivery, as sent by the deadmansswitch receiver. */
function delivery(alerts: { status: string; alertname: string }[]) {
  return {
    version: '4',
    groupKey: '{}/{alertname="Watchdog"}:{alertname="Watchdog"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'deadmansswitch',
    groupLabels: { alertname: 'Watchdog' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://am:9093',
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: { alertname: a.alertname, severity: 'none' },
      annotations: { summary: 'Always-firing alert' },
      startsAt: '2026-11-26T02:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: 'abc',
    })),
  };
}

describe('the Watchdog webhook receiver', () => {
  let server: WebhookServer | undefined;
  const beats: Heartbeat[] = [];
  let failWith: Error | undefined;
  const warnings: string[] = [];

  before(async () => {
    server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      handlerTimeoutMs: 500,
      warn: (m) => warnings.push(m),
      onHeartbeat: async (hb) => {
        if (failWith) throw failWith;
        beats.push(hb);
      },
    });
  });
  after(async () => server?.close());
  beforeEach(() => {
    beats.length = 0;
    failWith = undefined;
  });

  const post = (body: string | object, path = '/watchdog') =>
    fetch(`${server!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('turns a delivery with a firing Watchdog into exactly one heartbeat carrying only time and status', async () => {
    const res = await post(
      delivery([
        { status: 'firing', alertname: 'Watchdog' },
        { status: 'firing', alertname: 'Watchdog' },
      ]),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { heartbeat: true });
    assert.equal(beats.length, 1);
    assert.deepEqual(Object.keys(beats[0]).sort(), ['receivedAt', 'status']);
    assert.equal(beats[0].status, 'firing');
    assert.ok(Math.abs(Date.parse(beats[0].receivedAt) - Date.now()) < 5000);
  });

  it('accepts but ignores a resolved Watchdog and other alerts', async () => {
    for (const d of [
      delivery([{ status: 'resolved', alertname: 'Watchdog' }]),
      delivery([{ status: 'firing', alertname: 'VaultDown' }]),
      delivery([]),
    ]) {
      const res = await post(d);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { heartbeat: false });
    }
    assert.equal(beats.length, 0);
  });

  it('rejects malformed JSON and non-Alertmanager bodies with 400', async () => {
    const bad = await post('{"alerts": [');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /not JSON/);
    const wrong = await post({ hello: 'world' });
    assert.equal(wrong.status, 400);
    assert.match(((await wrong.json()) as { error: string }).error, /`alerts` array/);
    assert.equal((await post({ alerts: [1] })).status, 400);
    assert.equal(beats.length, 0);
  });

  it('answers 404 elsewhere, 405 for other methods, 413 for huge bodies', async () => {
    assert.equal((await post(delivery([]), '/other')).status, 404);
    assert.equal((await fetch(`${server!.url}/watchdog`)).status, 405);
    assert.equal((await post(`{"alerts": [], "pad": "${'x'.repeat(1024 * 1024 + 10)}"}`)).status, 413);
    assert.equal((await fetch(`${server!.url}/-/healthy`)).status, 200);
  });

  it('answers 503 when the heartbeat cannot be passed on, so Alertmanager retries and counts the failure', async () => {
    failWith = new Error('Temporal unreachable');
    const res = await post(delivery([{ status: 'firing', alertname: 'Watchdog' }]));
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /Temporal unreachable/);
    assert.ok(warnings.some((w) => /Temporal unreachable/.test(w)));
  });
});
