import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { FailureType } from '../../lib/failure-types';
import { createWorker } from '../../workers/worker';
import { caOutageWorkflow } from '../../workflows';
import type { CaOutageInput, CaOutageReport } from '../../workflows/ca-outage';
import { timeSkippingSuite } from '../harness/time-skipping-suite';

const ROOT = 'a'.repeat(64);
const NEW_ROOT = 'b'.repeat(64);

/** Where a stub throws: the activity and its nth call (1-based). */
type FailAt = { activity: string; call: number };

/**
 * The CA and its endpoints stubbed as state: the CA is up or down, a renewal works only while
 * it is up. `failAt` makes one call fail with a non-retryable error, as a step of the drill
 * failing for a reason the drill does not expect. Real servers: test/integration/ca-outage-drill.test.ts.
 */
function stubCa(opts: { failAt?: FailAt; rootAfter?: string; trustStoresLackNewRoot?: boolean } = {}) {
  let up = true;
  const calls: string[] = [];
  const count: Record<string, number> = {};
  const step = (activity: string, detail = '') => {
    count[activity] = (count[activity] ?? 0) + 1;
    calls.push(`${activity}${detail}`);
    if (opts.failAt?.activity === activity && opts.failAt.call === count[activity]) {
      throw ApplicationFailure.create({ type: FailureType.InvalidInput, nonRetryable: true, message: `injected failure in ${activity} call ${count[activity]}` });
    }
  };
  const endpoint = (name: string, root: string) => ({
    endpoint: name,
    address: `127.0.0.1:${name === 'web' ? 8443 : 9443}`,
    leaf: { subject: `CN=${name}`, sans: ['DNS:localhost'], serial: name === 'web' ? '0A' : '0B', notBefore: '2026-11-29T00:00:00.000Z', notAfter: '2026-11-29T02:00:00.000Z', issuer: 'CN=int', fingerprint: 'f'.repeat(64) },
    intermediates: [],
    rootFingerprint: root,
    rootSubject: 'CN=root',
    headroom: { remainingSeconds: 7200, headroomSeconds: name === 'web' ? -1800 : 3600, short: name === 'web' },
  });
  const activities = {
    async inventoryCertificates() {
      step('inventoryCertificates');
      return {
        ca: { type: 'cfssl', address: 'http://127.0.0.1:8888', component: 'ca' },
        caRootFingerprint: ROOT,
        trustAnchorFingerprint: ROOT,
        trustAnchorSubject: 'CN=root',
        endpoints: [endpoint('web', ROOT), endpoint('api', ROOT)],
        trustStores: [{ file: '/etc/ssl/ca.pem', rootFingerprints: [ROOT] }],
        at: new Date().toISOString(),
      };
    },
    async checkEndpointsServe({ rootFingerprint }: { rootFingerprint: string }) {
      step('checkEndpointsServe');
      return [endpoint('web', rootFingerprint), endpoint('api', rootFingerprint)];
    },
    async attemptRenewal() {
      step('attemptRenewal', up ? ' (up)' : ' (down)');
      if (!up) throw ApplicationFailure.create({ type: FailureType.CaUnavailable, message: 'CA cfssl at http://127.0.0.1:8888 (component ca) is unavailable: ECONNREFUSED' });
      const root = opts.rootAfter ?? ROOT;
      return { endpoint: 'web', serial: '0C', notAfter: '2026-12-29T00:00:00.000Z', issuer: 'CN=int', rootFingerprint: root, rootSubject: root === ROOT ? 'CN=root' : 'CN=rebuilt root' };
    },
    async checkNewRootDistributed() {
      step('checkNewRootDistributed');
      if (opts.trustStoresLackNewRoot) {
        throw ApplicationFailure.create({ type: FailureType.RootChanged, nonRetryable: true, message: 'root changed: … Trust stores without the new root: /etc/ssl/ca.pem. Endpoints not yet serving a certificate under the new root: web, api' });
      }
      return { trustStores: ['/etc/ssl/ca.pem'] };
    },
    async installRenewedCertificate({ endpoint: name, rootFingerprint }: { endpoint: string; rootFingerprint: string }) {
      step('installRenewedCertificate', ` ${name}`);
      return { endpoint: name, previousSerial: '0A', serial: '0C', notAfter: '2026-12-29T00:00:00.000Z', rootFingerprint, servedAfterSeconds: 0.2 };
    },
    async componentStatus({ component }: { component: string }) {
      step('componentStatus');
      return { component, running: up, detail: `process ${component}: ${up ? 'ready' : 'not running'}` };
    },
    async stopComponent({ component }: { component: string }) {
      step('stopComponent');
      up = false;
      return { component, adapter: 'process', stoppedAt: new Date().toISOString() };
    },
    async startComponent({ component }: { component: string }) {
      step('startComponent');
      up = true;
      return { component, running: true, detail: `process ${component}: ready` };
    },
  };
  return { activities, calls, isUp: () => up };
}

describe('caOutageWorkflow (time-skipping; CA, endpoints and platform stubbed)', function () {
  this.timeout(120_000);
  const suite = timeSkippingSuite('wf-ca-outage', (dir) => ({ reportsDir: join(dir, 'reports') }));
  const input = (over: Partial<CaOutageInput> = {}): CaOutageInput => ({
    caComponent: 'ca',
    caLabel: 'cfssl http://127.0.0.1:8888',
    renewableEndpoints: ['web', 'api'],
    outageWindowSeconds: 3600,
    renewalMarginSeconds: 3600,
    renewalSloSeconds: 300,
    holdSeconds: 0,
    ...over,
  });

  async function start(activities: object, args: CaOutageInput) {
    const taskQueue = `ca-${randomUUID()}`;
    const worker = await createWorker({ config: suite.config, connection: suite.env.nativeConnection, namespace: 'default', taskQueue, activities });
    return { worker, handle: () => suite.env.client.workflow.start(caOutageWorkflow, { taskQueue, workflowId: `ca-outage-${randomUUID()}`, args: [args] }) };
  }

  async function failedReport(activities: object, args: CaOutageInput): Promise<{ type?: string; report: CaOutageReport }> {
    const { worker, handle } = await start(activities, args);
    try {
      await worker.runUntil(async () => (await handle()).result());
    } catch (err) {
      assert.ok(err instanceof WorkflowFailedError, String(err));
      const cause = err.cause as ApplicationFailure;
      return { type: (cause.cause as ApplicationFailure | undefined)?.type ?? undefined, report: cause.details?.[0] as CaOutageReport };
    }
    assert.fail('the drill succeeded');
  }

  it('runs the runbook in order and reports headroom findings, detection and recovery', async () => {
    const ca = stubCa();
    const { worker, handle } = await start(ca.activities, input());
    const r = (await worker.runUntil(async () => (await handle()).result())) as CaOutageReport;
    assert.equal(r.outcome, 'succeeded', r.error);
    assert.deepEqual(ca.calls, [
      'inventoryCertificates',
      'componentStatus',
      'stopComponent',
      'checkEndpointsServe',
      'attemptRenewal (down)',
      'startComponent',
      'attemptRenewal (up)',
      'installRenewedCertificate web',
      'installRenewedCertificate api',
      'checkEndpointsServe',
    ]);
    assert.deepEqual(r.findings.filter((f) => /within the outage window/.test(f)).length, 1, 'only web has negative headroom');
    assert.equal(r.details.failureType, 'CaUnavailable');
    assert.equal(r.details.root?.changed, false);
  });

  // Every step after the CA was stopped, failing: the CA must be up again every time. Before the
  // drill's own restart the undo does it (done); after it the undo is settled (not needed).
  const failPoints: (FailAt & { undo: 'done' | 'not needed' })[] = [
    { activity: 'checkEndpointsServe', call: 1, undo: 'done' },
    { activity: 'attemptRenewal', call: 1, undo: 'done' },
    { activity: 'startComponent', call: 1, undo: 'done' },
    { activity: 'attemptRenewal', call: 2, undo: 'not needed' },
    { activity: 'installRenewedCertificate', call: 1, undo: 'not needed' },
    { activity: 'installRenewedCertificate', call: 2, undo: 'not needed' },
    { activity: 'checkEndpointsServe', call: 2, undo: 'not needed' },
  ];
  for (const failAt of failPoints) {
    it(`brings the CA back when ${failAt.activity} (call ${failAt.call}) fails`, async () => {
      const ca = stubCa({ failAt });
      const { type, report } = await failedReport(ca.activities, input());
      assert.equal(type, FailureType.InvalidInput);
      assert.equal(report.outcome, 'failed');
      assert.equal(ca.isUp(), true, `the CA is up again; calls: ${ca.calls.join(', ')}`);
      assert.deepEqual(report.compensations.map((c) => [c.name, c.outcome]), [['Bring the CA back', failAt.undo]]);
    });
  }

  it('a failure before the CA is stopped leaves it alone (nothing to put back)', async () => {
    const ca = stubCa({ failAt: { activity: 'componentStatus', call: 1 } });
    const { report } = await failedReport(ca.activities, input());
    assert.equal(ca.calls.includes('stopComponent'), false);
    assert.deepEqual(report.compensations, []);
  });

  it('a root change fails with RootChanged while a trust store lacks the new root, installs nothing, and the CA is up', async () => {
    const ca = stubCa({ rootAfter: NEW_ROOT, trustStoresLackNewRoot: true });
    const { type, report } = await failedReport(ca.activities, input());
    assert.equal(type, FailureType.RootChanged);
    assert.match(report.error!, /Trust stores without the new root: \/etc\/ssl\/ca\.pem/);
    assert.equal(report.details.root?.changed, true);
    assert.equal(ca.calls.some((c) => c.startsWith('installRenewedCertificate')), false);
    assert.equal(ca.isUp(), true);
  });

  it('cancelled while the CA is held down: the CA is brought back', async () => {
    const ca = stubCa();
    const { worker, handle } = await start(ca.activities, input({ holdSeconds: 600 }));
    await worker.runUntil(async () => {
      const h = await handle();
      while (!ca.calls.includes('attemptRenewal (down)')) await new Promise((r) => setTimeout(r, 50));
      await h.cancel();
      await assert.rejects(h.result());
    });
    assert.equal(ca.isUp(), true);
    assert.deepEqual(ca.calls.slice(-1), ['startComponent']);
  });
});
