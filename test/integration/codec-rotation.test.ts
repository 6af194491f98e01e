import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { SecdrConfig } from '../../lib/config/schema';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal';
import { dataConverterFor } from '../../lib/temporal/connect';
import { applySchedules } from '../../scripts/commands/schedules';
import { createWorker } from '../../workers/worker';
import { smokeWorkflow } from '../../workflows';
import { testConfig } from '../harness/config';
import { tempDir } from '../harness/temp';

describe('codec key rotation (real Temporal dev server, real Schedules)', function () {
  this.timeout(120_000);
  const tmp = tempDir('codec-rotation');
  let server: TemporalDevServer;
  let connection: Connection;
  let native: NativeConnection;

  before(async () => {
    server = await startTemporalDevServer({ dir: join(tmp.dir, 'temporal') });
    connection = await Connection.connect({ address: server.address });
    native = await NativeConnection.connect({ address: server.address });
  });
  after(async () => {
    await connection?.close();
    await native?.close();
    await server?.process.stop();
    tmp.cleanup();
  });

  const keyFile = (name: string) => {
    const file = join(tmp.dir, `${name}.key`);
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    return { file };
  };
  /** The key id of the stored (encoded) argument of a Schedule, read without any codec. */
  const storedKeyId = async (scheduleId: string) => {
    const raw = await connection.workflowService.describeSchedule({ namespace: 'default', scheduleId });
    const payload = raw.schedule?.action?.startWorkflow?.input?.payloads?.[0];
    return Buffer.from(payload?.metadata?.['encryption-key-id'] ?? []).toString();
  };

  it('decodes history and Schedule arguments written with key 1 after rotating to key 2, and `schedules apply` re-encodes them with key 2', async () => {
    const taskQueue = `rotation-${randomUUID()}`;
    const key1 = keyFile('k1');
    const before: SecdrConfig = testConfig(tmp.dir, { temporal: { taskQueue }, codec: { keyId: 'k1', key: key1 } });
    const client1 = new Client({ connection, dataConverter: dataConverterFor(before) });
    const worker1 = await createWorker({ config: before, connection: native, namespace: 'default', taskQueue });
    const workflowId = `before-rotation-${randomUUID()}`;
    await worker1.runUntil(client1.workflow.execute(smokeWorkflow, { taskQueue, workflowId, args: [{ message: 'written with key 1' }] }));
    const applied = await applySchedules(client1, before);
    assert.ok(applied.length >= 1, 'the test config asks for at least one Schedule');
    const scheduleId = applied[0].id;
    assert.equal(await storedKeyId(scheduleId), 'k1');

    // Rotate: key 2 is current, key 1 stays for decoding.
    const rotated: SecdrConfig = testConfig(tmp.dir, { temporal: { taskQueue }, codec: { keyId: 'k2', key: keyFile('k2'), previousKeys: [{ keyId: 'k1', key: key1 }] } });
    const client2 = new Client({ connection, dataConverter: dataConverterFor(rotated) });
    assert.equal(await client2.workflow.getHandle(workflowId).result(), 'echo: written with key 1', 'old history decodes');
    const described = await client2.schedule.getHandle(scheduleId).describe();
    assert.equal(described.action.type, 'startWorkflow');
    const args = (described.action as { args?: unknown[] }).args;
    assert.deepEqual(args, (await client1.schedule.getHandle(scheduleId).describe() as { action: { args?: unknown[] } }).action.args, 'old Schedule arguments decode to the same input');

    const reapplied = await applySchedules(client2, rotated);
    assert.ok(reapplied.every((r) => r.action === 'updated'));
    assert.equal(await storedKeyId(scheduleId), 'k2', 'schedules apply re-encoded the stored arguments with the current key');

    // New payloads use key 2: a client with key 1 alone can no longer read the Schedule.
    await assert.rejects(client1.schedule.getHandle(scheduleId).describe(), /codec key "k2", which this process does not have/);
    // And without key 1, the old history cannot be read: previousKeys is what kept it readable.
    const keyTwoOnly: SecdrConfig = { ...rotated, codec: { ...rotated.codec, previousKeys: [] } };
    const client3 = new Client({ connection, dataConverter: dataConverterFor(keyTwoOnly) });
    await assert.rejects(client3.workflow.getHandle(workflowId).result(), /codec key "k1", which this process does not have/);
    for (const r of reapplied) await client2.schedule.getHandle(r.id).delete();
  });
});
