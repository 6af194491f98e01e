import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/load';
import { startAlertmanager, type HttpServer } from '../../dev-stack/prometheus';
import { waitFor } from '../../dev-stack/wait';
import { startWebhookServer, type WebhookServer } from '../../lib/webhook-server';
import type { Heartbeat } from '../../workflows/dead-mans-switch';
import { webhookAuth } from '../../scripts/commands/webhook';
import { tempDir } from '../harness/temp';

describe("`secdr webhook` /watchdog authentication with a real Alertmanager's webhook_config", function () {
  this.timeout(90_000);
  const tmp = tempDir('webhook-auth');
  let am: HttpServer | undefined;
  const servers: WebhookServer[] = [];
  const beats: Record<'bearer' | 'basic', Heartbeat[]> = { bearer: [], basic: [] };
  const warnings: string[] = [];

  const secretFile = (name: string) => {
    const file = join(tmp.dir, name);
    writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
    return file;
  };
  const dmsConfig = (auth: unknown) =>
    parseConfig(
      {
        clusters: [{ name: 'c', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'UNUSED_TOKEN' } } }],
        storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
        deadMansSwitch: { auth },
        codec: { key: { env: 'UNUSED_KEY' } },
      },
      'test config',
    ).deadMansSwitch!;

  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await am?.process.stop();
    tmp.cleanup();
  });

  it('accepts Watchdog deliveries that Alertmanager sends with a bearer token or basic auth, and refuses forged ones (401, no heartbeat)', async () => {
    const tokenFile = secretFile('bearer-token');
    const passwordFile = secretFile('basic-password');
    const bearerAuth = webhookAuth(dmsConfig({ bearerToken: { file: tokenFile } }));
    const basicAuth = webhookAuth(dmsConfig({ basicAuth: { username: 'alertmanager', password: { file: passwordFile } } }));
    for (const [variant, auth] of [['bearer', bearerAuth], ['basic', basicAuth]] as const) {
      servers.push(
        await startWebhookServer({
          host: '127.0.0.1',
          port: 0,
          auth,
          onHeartbeat: async (hb) => void beats[variant].push(hb),
          warn: (m) => void warnings.push(m),
        }),
      );
    }
    const [bearer, basic] = servers;
    const amConfig = join(tmp.dir, 'alertmanager.yml');
    writeFileSync(
      amConfig,
      stringify({
        route: {
          receiver: 'bearer',
          group_by: ['variant'],
          group_wait: '0s',
          group_interval: '1s',
          repeat_interval: '1h',
          routes: [{ matchers: ['variant="basic"'], receiver: 'basic' }],
        },
        receivers: [
          { name: 'bearer', webhook_configs: [{ url: `${bearer.url}/watchdog`, http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } } }] },
          { name: 'basic', webhook_configs: [{ url: `${basic.url}/watchdog`, http_config: { basic_auth: { username: 'alertmanager', password_file: passwordFile } } }] },
        ],
      }),
    );
    am = await startAlertmanager(join(tmp.dir, 'am'), amConfig);
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(['bearer', 'basic'].map((variant) => ({ labels: { alertname: 'Watchdog', variant } }))),
    });
    assert.equal(res.status, 200);
    await waitFor('both Watchdog deliveries', async () => beats.bearer.length > 0 && beats.basic.length > 0, { timeoutMs: 30_000, intervalMs: 200 });

    const counts = { bearer: beats.bearer.length, basic: beats.basic.length };
    const forged = JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'Watchdog' } }] });
    const post = (server: WebhookServer, authorization?: string) =>
      fetch(`${server.url}/watchdog`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: forged });
    for (const [server, authorization] of [
      [bearer, undefined],
      [bearer, 'Bearer forged-token'],
      [bearer, `Basic ${Buffer.from('alertmanager:guess').toString('base64')}`],
      [basic, undefined],
      [basic, `Basic ${Buffer.from('alertmanager:guess').toString('base64')}`],
      [basic, 'Bearer forged-token'],
    ] as const) {
      const r = await post(server, authorization);
      assert.equal(r.status, 401, `${authorization ?? 'no credentials'} must be refused`);
      assert.match(((await r.json()) as { error: string }).error, /missing or wrong credentials/);
    }
    assert.deepEqual({ bearer: beats.bearer.length, basic: beats.basic.length }, counts, 'no forged delivery became a heartbeat');
    assert.ok(warnings.some((w) => /refused a delivery to \/watchdog with 401/.test(w)));
  });

  it('refuses to listen on a non-loopback address without credentials', () => {
    assert.throws(() => webhookAuth({ ...dmsConfig(undefined), listen: { host: '0.0.0.0', port: 9095 } }), /deadMansSwitch\.auth: required when listening on 0\.0\.0\.0/);
    assert.equal(webhookAuth(dmsConfig(undefined)), undefined, 'loopback without auth stays possible (with a warning at start)');
  });
});
