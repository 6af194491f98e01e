import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { freePort } from '../../dev-stack/ports';
import { ManagedProcess } from '../../dev-stack/supervisor';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { waitFor } from '../../dev-stack/wait';
import { tempDir } from '../harness/temp';

const repo = resolve(__dirname, '..', '..');

describe('`secdr webhook` (real CLI process, real Temporal dev server)', function () {
  this.timeout(120_000);
  const tmp = tempDir('webhook-cmd');
  let temporal: TemporalDevServer | undefined;
  let webhook: ManagedProcess | undefined;
  let connection: Connection | undefined;

  after(async () => {
    await webhook?.stop();
    await connection?.close();
    await temporal?.process.stop();
    tmp.cleanup();
  });

  it("starts the dead man's switch with signal-with-start on the first firing Watchdog and signals it after that", async () => {
    temporal = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    const port = await freePort();
    const workflowId = `dms-${randomUUID()}`;
    const keyFile = join(tmp.dir, 'codec.key');
    writeFileSync(keyFile, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    const raw = {
      temporal: { taskQueue: `no-worker-${randomUUID()}` },
      clusters: [
        { name: 'test', nodes: ['http://127.0.0.1:1'], auth: { method: 'token', token: { env: 'UNUSED_TOKEN' } } },
      ],
      storage: [{ name: 'local', type: 'local', dir: join(tmp.dir, 'store') }],
      deadMansSwitch: { workflowId, windowSeconds: 120, listen: { host: '127.0.0.1', port } },
      codec: { keyId: 'test-1', key: { file: keyFile } },
    };
    const configFile = join(tmp.dir, 'secdr.yaml');
    writeFileSync(configFile, stringify(raw));
    webhook = new ManagedProcess({
      name: 'secdr webhook',
      command: process.execPath,
      // tsx as a loader in this one process, so SIGTERM reaches the command itself (not the tsx CLI's relay).
      args: ['--import', 'tsx', join(repo, 'scripts', 'secdr.ts'), '--config', configFile, 'webhook'],
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' },
      cwd: repo,
      logFile: join(tmp.dir, 'webhook.log'),
    }).start();

    const watchdog = JSON.stringify({
      version: '4',
      status: 'firing',
      receiver: 'deadmansswitch',
      alerts: [{ status: 'firing', labels: { alertname: 'Watchdog' } }],
    });
    const post = () =>
      fetch(`http://127.0.0.1:${port}/watchdog`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: watchdog,
      });
    const first = await waitFor(
      'secdr webhook to accept a Watchdog delivery',
      async () => {
        webhook!.assertAlive();
        return post();
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { heartbeat: true });
    assert.equal((await post()).status, 200);

    // No worker polls this task queue, so the workflow cannot run yet; its history shows the start and both signals.
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection }); // describe and raw history need no codec
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    assert.equal(description.type, 'deadMansSwitchWorkflow');
    assert.equal(description.taskQueue, raw.temporal.taskQueue);
    const history = await handle.fetchHistory();
    const signals = history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes) ?? [];
    assert.equal(signals.length, 2);
    assert.ok(signals.every((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'heartbeat'));
    const started = history.events?.[0].workflowExecutionStartedEventAttributes;
    assert.ok(started, 'started by signal-with-start');

    await webhook.stop(10_000);
    // SIGTERM closes the server and the connection, and the process exits cleanly (the log line is written asynchronously).
    await waitFor('the exit code in the log', async () => /--- exit code=0/.test(webhook!.tail()), { timeoutMs: 5000 });
    assert.match(webhook.tail(), /secdr webhook listening on http:\/\/127\.0\.0\.1:\d+\/watchdog/);
    assert.match(webhook.tail(), /emergencyWebhook is not configured/);
  });
});
