import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { failureMessage, failureTypeOf } from '../../lib/fail';
import { FailureType, TypedError } from '../../lib/failure-types';
import { startMetricsServer } from '../../lib/metrics-server';
import { startWebhookServer } from '../../lib/webhook-server';

describe('one error path', () => {
  describe('a server that cannot listen', () => {
    let taken: Server;
    let port: number;
    before(async () => {
      taken = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      port = (taken.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => taken.close(() => r())));

    const inUse = (what: string, field: string) => (err: unknown) => {
      assert.ok(err instanceof TypedError, `a TypedError, got ${String(err)}`);
      assert.equal(err.type, FailureType.InvalidInput);
      assert.equal(err.name, FailureType.InvalidInput, 'the SDK turns the name into the failure type');
      assert.ok(err.message.startsWith(`${what}: cannot listen on 127.0.0.1:${port}: port ${port} is already in use`), err.message);
      assert.ok(err.message.includes(field), `names ${field}: ${err.message}`);
      return true;
    };

    it('the metrics endpoint names the address, says the port is in use and which config fields move it', async () => {
      await assert.rejects(startMetricsServer('127.0.0.1', port), inUse('metrics server', 'metrics.host/metrics.port'));
    });

    it('the webhook names the address, says the port is in use and which config fields move it', async () => {
      await assert.rejects(startWebhookServer({ host: '127.0.0.1', port, onHeartbeat: async () => undefined }), inUse('webhook', 'deadMansSwitch.listen'));
    });
  });

  describe('failureMessage and failureTypeOf see through the client wrappers as through activity failures', () => {
    const cause = ApplicationFailure.create({ type: FailureType.VaultSealed, message: 'target dr is sealed', nonRetryable: true });

    it('a failed workflow: the typed cause, not "Workflow execution failed"', () => {
      const err = new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);
      assert.equal(failureMessage(err), 'target dr is sealed');
      assert.equal(failureTypeOf(err), FailureType.VaultSealed);
    });

    it('a refused update, and an activity failure inside a failed workflow', () => {
      assert.equal(failureMessage(new WorkflowUpdateFailedError('Workflow Update failed', cause)), 'target dr is sealed');
      const activity = new ActivityFailure('Activity task failed', 'restoreSnapshot', '7', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);
      assert.equal(failureMessage(new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE)), 'target dr is sealed');
    });

    it('leaves a plain error alone', () => {
      assert.equal(failureMessage(new TypedError(FailureType.InvalidInput, 'deadMansSwitch.auth: required')), 'deadMansSwitch.auth: required');
    });
  });
});
