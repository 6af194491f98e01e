import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivityFailure, ApplicationFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { forgetSecret, noteSecret } from '../../lib/secret-registry';
import { dataConverterFor } from '../../lib/temporal/connect';
import { createWorker } from '../../workers/worker';
import { smokeWorkflow } from '../../workflows';
import { testConfig } from '../harness/config';
import { scanForSecrets } from '../harness/secret-scan';
import { tempDir } from '../harness/temp';

describe('secret scan and encoded failures (real Temporal dev server)', function () {
  const tmp = tempDir('secret-scan');
  const config = testConfig(tmp.dir);
  let server: TemporalDevServer;
  let native: NativeConnection;
  let connection: Connection;
  let client: Client;

  before(async () => {
    server = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    native = await NativeConnection.connect({ address: server.address });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, dataConverter: dataConverterFor(config) });
  });
  after(async () => {
    await connection?.close();
    await native?.close();
    await server?.process.stop();
    tmp.cleanup();
  });

  it('catches a secret leaked on purpose into a workflow input, the SDK log and a report, and passes once it is gone', async () => {
    const taskQueue = `leak-${randomUUID()}`;
    const [inHistory, inLog, inReport] = ['history', 'log', 'report'].map((w) => `planted-${w}-${randomUUID()}`);
    for (const v of [inHistory, inLog, inReport]) noteSecret(v, `planted ${v.split('-')[1]} secret`);
    try {
      const worker = await createWorker({ config, connection: native, namespace: 'default', taskQueue });
      const workflowId = `leaky-${randomUUID()}`;
      // The input is encrypted in history, so only a scan that decodes can see it.
      await worker.runUntil(client.workflow.execute(smokeWorkflow, { taskQueue, workflowId, args: [{ message: inHistory }] }));
      Runtime.instance().logger.info(`an activity that logs what it should not: ${inLog}`);
      mkdirSync(join(tmp.dir, 'reports'), { recursive: true });
      writeFileSync(join(tmp.dir, 'reports', 'leaky.md'), `# report\n${inReport}\n`);

      const found = await scanForSecrets();
      const where = (what: string) => found.leaks.filter((l) => l.secret === what).map((l) => l.where);
      assert.ok(where('planted history secret').some((w) => w.startsWith(`workflow ${workflowId} `)), JSON.stringify(found.leaks));
      assert.deepEqual(where('planted log secret'), ['the Temporal SDK log (worker, workflow and activity loggers)']);
      assert.deepEqual(where('planted report secret'), [join(tmp.dir, 'reports', 'leaky.md')]);
      assert.deepEqual(found.undecodable, []);
      assert.ok(found.historiesScanned >= 1);
    } finally {
      for (const v of [inHistory, inLog, inReport]) forgetSecret(v);
    }
    const clean = await scanForSecrets();
    assert.deepEqual(clean.leaks, [], 'nothing else in this run leaked (the codec key included)');
  });

  it("stores a failure's message and stack trace encrypted: not in the raw history, readable through the codec", async () => {
    const taskQueue = `fail-${randomUUID()}`;
    const marker = `failure-detail-${randomUUID()}`;
    const worker = await createWorker({
      config,
      connection: native,
      namespace: 'default',
      taskQueue,
      activities: {
        async echo(): Promise<string> {
          throw ApplicationFailure.create({ type: 'Test', message: `could not reach ${marker}`, nonRetryable: true });
        },
      },
    });
    const workflowId = `failing-${randomUUID()}`;
    await assert.rejects(
      worker.runUntil(client.workflow.execute(smokeWorkflow, { taskQueue, workflowId, args: [{ message: 'x' }] })),
      (err: WorkflowFailedError) => {
        // Through the codec the message reads as thrown.
        assert.ok(err.cause instanceof ActivityFailure);
        assert.equal(err.cause.cause?.message, `could not reach ${marker}`);
        return true;
      },
    );
    const raw = JSON.stringify(await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory(), (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    );
    assert.ok(raw.includes('"activityTaskFailedEventAttributes"'), 'the history has the failed activity');
    assert.equal(raw.includes(marker), false, 'failure message found in plaintext history');
    assert.equal(raw.includes('secret-scan.test.ts'), false, 'stack trace found in plaintext history');
    assert.match(raw, /"message":"Encoded failure"/);
  });
});
