import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { dataConverterFor } from '../../lib/temporal/connect';
import { createWorker } from '../../workers/worker';
import { smokeWorkflow } from '../../workflows';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';
import { localEnv, timeSkippingEnv } from '../harness/temporal';

describe('Temporal smoke (real dev server and test servers)', function () {
  const tmp = tempDir('temporal-smoke');
  const config = testConfig(tmp.dir);
  let server: TemporalDevServer;

  before(async () => {
    server = await startTemporalDevServer({ dir: tmp.dir });
  });
  after(async () => {
    await server?.process.stop();
    tmp.cleanup();
  });

  it('runs a workflow with an activity on the dev server and keeps every payload encrypted in history', async () => {
    const taskQueue = `smoke-${randomUUID()}`;
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await createWorker({ config, connection: nativeConnection, namespace: 'default', taskQueue });
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection, dataConverter: dataConverterFor(config) });
      const secretLooking = `plaintext-marker-${randomUUID()}`;
      const result = await worker.runUntil(
        client.workflow.execute(smokeWorkflow, { taskQueue, workflowId: `smoke-${randomUUID()}`, args: [{ message: secretLooking }] }),
      );
      assert.equal(result, `echo: ${secretLooking}`);

      // Read the raw history without the codec: the marker must appear nowhere.
      const raw = new Client({ connection });
      const handle = raw.workflow.list({ query: `TaskQueue = "${taskQueue}"` });
      let checked = 0;
      for await (const wf of handle) {
        const history = await raw.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        const bytes = Buffer.from(JSON.stringify(history));
        assert.equal(bytes.includes(secretLooking), false, 'marker found in plaintext history');
        assert.equal(bytes.includes(Buffer.from(secretLooking).toString('base64')), false, 'marker found base64-encoded in history');
        const encodings = JSON.stringify(history).match(/YmluYXJ5L2VuY3J5cHRlZA==|binary\/encrypted/g) ?? [];
        assert.ok(encodings.length >= 2, 'payloads carry the binary/encrypted encoding');
        checked++;
      }
      assert.equal(checked, 1);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });

  describe('TestWorkflowEnvironment', () => {
    let env: TestWorkflowEnvironment | undefined;
    afterEach(async () => {
      await env?.teardown();
      env = undefined;
    });

    it('skips a 1-hour timer in the time-skipping environment', async () => {
      env = await timeSkippingEnv(dataConverterFor(config));
      const taskQueue = `ts-${randomUUID()}`;
      const worker = await createWorker({ config, connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue });
      const before = await env.currentTimeMs();
      const result = await worker.runUntil(
        env.client.workflow.execute(smokeWorkflow, { taskQueue, workflowId: randomUUID(), args: [{ message: 'later', sleepMs: 3_600_000 }] }),
      );
      assert.equal(result, 'echo: later');
      assert.ok((await env.currentTimeMs()) - before >= 3_600_000, 'workflow time advanced by at least an hour');
    });

    it('starts a local dev server from the installed binary (no download)', async () => {
      env = await localEnv(dataConverterFor(config));
      const taskQueue = `local-${randomUUID()}`;
      const worker = await createWorker({ config, connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue });
      const result = await worker.runUntil(
        env.client.workflow.execute(smokeWorkflow, { taskQueue, workflowId: randomUUID(), args: [{ message: 'local' }] }),
      );
      assert.equal(result, 'echo: local');
    });
  });
});
