import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertSucceeded, repoRoot, requireTool, runTool } from './tools';

const configFile = join(repoRoot, 'deploy', 'alertmanager', 'alertmanager.yml');

interface Route {
  receiver: string;
  matchers?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
}

/** `amtool config routes test` for a label set, asserting the exact receivers it resolves to. */
async function assertRoutesTo(receivers: string, labels: string[]): Promise<void> {
  const result = await runTool('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${configFile}`,
    `--verify.receivers=${receivers}`,
    ...labels,
  ]);
  assertSucceeded(result);
  assert.equal(result.stdout.trim(), receivers);
}

describe('deploy/alertmanager', function () {
  this.timeout(60_000);

  before(() => {
    requireTool('amtool');
  });

  it('the configuration is valid (amtool check-config)', async () => {
    assertSucceeded(await runTool('amtool', ['check-config', configFile]));
  });

  it("routes the Watchdog to the dead man's switch only (amtool config routes test)", async () => {
    await assertRoutesTo('deadmansswitch', ['alertname=Watchdog', 'severity=none']);
  });

  it('routes critical alerts to the critical receiver and warnings to the warning receiver', async () => {
    await assertRoutesTo('critical', ['alertname=VaultDown', 'severity=critical', 'cluster=primary']);
    await assertRoutesTo('warning', ['alertname=SecdrSnapshotStale', 'severity=warning', 'cluster=primary']);
    await assertRoutesTo('warning', ['alertname=SomethingWithoutSeverity']);
  });

  it("gives the dead man's switch its own minute-scale intervals instead of the inherited 12h", () => {
    const config = parse(readFileSync(configFile, 'utf8')) as {
      route: { routes: Route[] };
      receivers: { name: string; webhook_configs?: { url: string; http_config?: { authorization?: { type?: string; credentials_file?: string } } }[] }[];
    };
    const [first] = config.route.routes;
    assert.equal(first.receiver, 'deadmansswitch', 'the Watchdog route must come first');
    assert.deepEqual(first.matchers, ['alertname="Watchdog"']);
    assert.equal(first.group_wait, '0s');
    assert.equal(first.group_interval, '1m');
    assert.equal(first.repeat_interval, '1m');
    assert.equal(first.continue, false);
    const dms = config.receivers.find((r) => r.name === 'deadmansswitch');
    assert.equal(dms?.webhook_configs?.[0]?.url, 'http://127.0.0.1:9095/watchdog');
    // `secdr webhook` refuses deliveries without deadMansSwitch.auth's credentials: the receiver sends them from a file.
    assert.deepEqual(dms?.webhook_configs?.[0]?.http_config?.authorization, { type: 'Bearer', credentials_file: '/etc/secdr/watchdog-token' });
  });

  describe('a real Alertmanager running this configuration', () => {
    let dir: string;
    let am: ChildProcess | undefined;
    let amLog = '';
    let receiver: Server;
    let amUrl: string;
    const received: { path: string; body: { alerts: { labels: Record<string, string> }[] } }[] = [];

    before(async () => {
      const binary = requireTool('prometheus-alertmanager');
      dir = mkdtempSync(join(tmpdir(), 'secdr-alertmanager-'));
      // The receivers' URLs point at this test's own webhook instead of 127.0.0.1:9095/5001.
      receiver = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
          res.end();
        });
      });
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      // The watchdog receiver's bearer token file, which this test's webhook does not check.
      writeFileSync(join(dir, 'watchdog-token'), 'unchecked', { mode: 0o600 });
      const config = readFileSync(configFile, 'utf8')
        .replace(/http:\/\/127\.0\.0\.1:(9095|5001)/g, hook)
        .replace('/etc/secdr/watchdog-token', join(dir, 'watchdog-token'));
      writeFileSync(join(dir, 'alertmanager.yml'), config);

      const port = await freePort();
      amUrl = `http://127.0.0.1:${port}`;
      am = spawn(
        binary,
        [
          `--config.file=${join(dir, 'alertmanager.yml')}`,
          `--storage.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      am.stdout?.on('data', (d: Buffer) => (amLog += d.toString()));
      am.stderr?.on('data', (d: Buffer) => (amLog += d.toString()));
      await waitFor(
        async () => (await fetch(`${amUrl}/-/ready`)).ok,
        15_000,
        () => `Alertmanager not ready:\n${amLog}`,
      );
    });

    after(async () => {
      if (am && am.exitCode === null) {
        am.kill('SIGTERM');
        await once(am, 'exit');
      }
      receiver?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('suppresses the snapshot alert of the cluster whose Vault is down, and only that one', async () => {
      await postAlerts(amUrl, [
        { alertname: 'VaultDown', severity: 'critical', job: 'vault', instance: 'vault-0:8200', cluster: 'primary' },
        { alertname: 'SecdrSnapshotStale', severity: 'warning', cluster: 'primary' },
        { alertname: 'SecdrSnapshotStale', severity: 'warning', cluster: 'dr' },
      ]);
      const states = await waitFor(
        async () => {
          const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as {
            labels: Record<string, string>;
            status: { state: string; inhibitedBy: string[] };
          }[];
          const stale = alerts.filter((a) => a.labels.alertname === 'SecdrSnapshotStale');
          return stale.length === 2 ? Object.fromEntries(stale.map((a) => [a.labels.cluster, a.status])) : undefined;
        },
        10_000,
        () => `alerts never showed up:\n${amLog}`,
      );
      assert.equal(states.primary.state, 'suppressed');
      assert.equal(states.primary.inhibitedBy.length, 1);
      assert.equal(states.dr.state, 'active');
    });

    it("delivers the Watchdog to the dead man's switch webhook at once (group_wait 0s)", async () => {
      const start = Date.now();
      await postAlerts(amUrl, [{ alertname: 'Watchdog', severity: 'none' }]);
      const hit = await waitFor(
        async () => received.find((r) => r.body.alerts.some((a) => a.labels.alertname === 'Watchdog')),
        10_000,
        () => `no Watchdog notification; received ${JSON.stringify(received.map((r) => r.path))}\n${amLog}`,
      );
      assert.equal(hit.path, '/watchdog');
      assert.ok(Date.now() - start < 5_000, `took ${Date.now() - start} ms`);
    });
  });
});

async function postAlerts(amUrl: string, labelSets: Record<string, string>[]): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(labelSets.map((labels) => ({ labels }))),
  });
  assert.equal(res.status, 200, `POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls `probe` every 100 ms until it returns a truthy value; fails with `why()` after `timeoutMs`. */
async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  why: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) assert.fail(why());
    await new Promise((r) => setTimeout(r, 100));
  }
}
