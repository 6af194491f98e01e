import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import type { EmergencyPage } from '../../activities/emergency-webhook';
import { waitFor } from '../../dev-stack/wait';
import { createWorker } from '../../workers/worker';
import { timeSkippingSuite } from '../harness/time-skipping-suite';
import {
  deadMansSwitchStatusQuery,
  deadMansSwitchWorkflow,
  heartbeatSignal,
  type DeadMansSwitchInput,
  type DeadMansSwitchState,
} from '../../workflows/dead-mans-switch';

const WINDOW = 300;
const s = (n: number) => n * 1000;

describe('deadMansSwitchWorkflow (time-skipping, stubbed emergency webhook)', function () {
  const suite = timeSkippingSuite('wf-dms');
  const { config } = suite;

  /** The emergency activity records each page with the (skipped) test-server time it was sent at. */
  function stubPages(opts: { failFirst?: number } = {}) {
    const pages: (EmergencyPage & { atMs: number })[] = [];
    let attempts = 0;
    const activities = {
      async sendEmergencyPage(p: EmergencyPage): Promise<void> {
        attempts++;
        if (attempts <= (opts.failFirst ?? 0)) {
          // Non-retryable so the workflow's own retry (retryPageSeconds) is what is exercised.
          throw ApplicationFailure.create({
            type: 'InvalidInput',
            nonRetryable: true,
            message: `receiver down (attempt ${attempts})`,
          });
        }
        pages.push({ ...p, atMs: await suite.env.currentTimeMs() });
      },
    };
    return { pages, activities, attempts: () => attempts };
  }

  async function withSwitch(
    activities: object,
    input: DeadMansSwitchInput,
    body: (h: {
      beat: () => Promise<void>;
      status: () => Promise<DeadMansSwitchState & { heartbeatsThisRun: number }>;
      startMs: number;
      workflowId: string;
    }) => Promise<void>,
  ) {
    const taskQueue = `dms-${randomUUID()}`;
    const workflowId = `dms-${randomUUID()}`;
    const worker: Worker = await createWorker({
      config,
      connection: suite.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities,
    });
    await worker.runUntil(async () => {
      const startMs = await suite.env.currentTimeMs();
      // As `secdr webhook` does: the first heartbeat starts the switch.
      await suite.env.client.workflow.signalWithStart(deadMansSwitchWorkflow, {
        taskQueue,
        workflowId,
        args: [input],
        signal: heartbeatSignal,
        signalArgs: [{ receivedAt: new Date().toISOString(), status: 'firing' }],
      });
      const handle = suite.env.client.workflow.getHandle(workflowId);
      const status = () => handle.query(deadMansSwitchStatusQuery);
      const beat = async () => {
        const before = (await status()).heartbeats;
        await handle.signal(heartbeatSignal, { receivedAt: new Date().toISOString(), status: 'firing' });
        await waitFor('the heartbeat to be recorded', async () => (await status()).heartbeats > before);
      };
      await waitFor('the first heartbeat to be recorded', async () => (await status()).heartbeatsThisRun === 1);
      try {
        await body({ beat, status, startMs, workflowId });
      } finally {
        await handle.terminate('test over');
      }
    });
  }

  it('pages exactly once when the heartbeats stop for the window, and not again while the silence lasts', async () => {
    const { pages, activities } = stubPages();
    await withSwitch(activities, { windowSeconds: WINDOW }, async ({ status, startMs }) => {
      await suite.env.sleep(s(WINDOW - 10));
      assert.equal((await status()).paging, false, 'quiet before the window has passed');
      assert.equal(pages.length, 0);

      await suite.env.sleep(s(20));
      await waitFor('the firing page', async () => pages.length === 1);
      const [page] = pages;
      assert.equal(page.status, 'firing');
      assert.equal(page.silenceSeconds, WINDOW);
      assert.ok(
        page.atMs - startMs >= s(WINDOW) && page.atMs - startMs < s(WINDOW + 20),
        `paged ${(page.atMs - startMs) / 1000} s after the last heartbeat`,
      );
      assert.ok(
        page.lastHeartbeatAt && Math.abs(Date.parse(page.lastHeartbeatAt) - startMs) < s(5),
        'names the last heartbeat',
      );
      assert.match(page.text, /no Watchdog heartbeat/);

      await suite.env.sleep(s(6 * 3600));
      const st = await status();
      assert.equal(st.paging, true);
      assert.equal(pages.length, 1, 'six more hours of silence: still exactly one page');
      assert.equal(st.pagesFiring, 1);
    });
  });

  it('sends "resolved" when heartbeats return, then watches again', async () => {
    const { pages, activities } = stubPages();
    await withSwitch(activities, { windowSeconds: WINDOW }, async ({ beat, status }) => {
      await suite.env.sleep(s(WINDOW + 600));
      await waitFor('the firing page', async () => pages.length === 1);

      await beat();
      await waitFor('the resolved message', async () => pages.length === 2);
      assert.equal(pages[1].status, 'resolved');
      assert.ok(
        pages[1].silenceSeconds >= WINDOW + 600,
        `silence ${pages[1].silenceSeconds} s covers the whole outage`,
      );
      assert.ok(
        pages[1].lastHeartbeatAt && Date.parse(pages[1].lastHeartbeatAt) > Date.parse(pages[0].lastHeartbeatAt!),
      );
      assert.equal((await status()).paging, false);

      // A second silence is a new incident: it pages again, once.
      await suite.env.sleep(s(WINDOW + 60));
      await waitFor('the second firing page', async () => pages.length === 3);
      assert.deepEqual(
        pages.map((p) => p.status),
        ['firing', 'resolved', 'firing'],
      );
    });
  });

  it('stays quiet while heartbeats keep arriving inside the window', async () => {
    const { pages, activities } = stubPages();
    await withSwitch(activities, { windowSeconds: WINDOW }, async ({ beat, status }) => {
      // An hour of heartbeats, each 4 minutes after the previous one (window 5 minutes).
      for (let i = 0; i < 15; i++) {
        await suite.env.sleep(s(240));
        await beat();
      }
      assert.equal(pages.length, 0);
      const st = await status();
      assert.equal(st.paging, false);
      assert.equal(st.heartbeats, 16);
    });
  });

  it('keeps the last heartbeat and the paging state across continue-as-new', async () => {
    const { pages, activities } = stubPages();
    await withSwitch(
      activities,
      { windowSeconds: WINDOW, maxHeartbeatsPerRun: 3 },
      async ({ beat, status, workflowId }) => {
        const handle = suite.env.client.workflow.getHandle(workflowId);
        const firstRun = (await handle.describe()).runId;
        await suite.env.sleep(s(60));
        await beat();
        await suite.env.sleep(s(60));
        // Third heartbeat of the run: continue-as-new. Wait for it through describe, not a query: the
        // time-skipping test server can lose its time-skipping lock when a query races the run's close.
        await handle.signal(heartbeatSignal, { receivedAt: new Date().toISOString(), status: 'firing' });
        await waitFor(
          'the first run to continue as new',
          async () =>
            (await suite.env.client.workflow.getHandle(workflowId, firstRun).describe()).status.name ===
            'CONTINUED_AS_NEW',
        );
        const secondRun = (await handle.describe()).runId;
        assert.notEqual(secondRun, firstRun);
        await waitFor('the second run', async () => (await status()).run === 2);
        const carried = await status();
        assert.equal(carried.heartbeats, 3, 'the heartbeat count carries over');
        assert.equal(carried.heartbeatsThisRun, 0);
        const lastBeat = carried.lastHeartbeatAt!;

        // Silence measured from the previous run's last heartbeat, not from the new run's start.
        await suite.env.sleep(s(WINDOW + 30));
        await waitFor('the firing page', async () => pages.length === 1);
        assert.equal(pages[0].lastHeartbeatAt, lastBeat);
        assert.equal(pages[0].silenceSeconds, WINDOW);
      },
    );
  });

  it('a run continued while paging sends "resolved", not a second page', async () => {
    const { pages, activities } = stubPages();
    const now = new Date(await suite.env.currentTimeMs());
    const state: DeadMansSwitchState = {
      watchingSince: new Date(now.getTime() - s(3600)).toISOString(),
      lastHeartbeatAt: new Date(now.getTime() - s(1800)).toISOString(),
      silenceSince: new Date(now.getTime() - s(1800)).toISOString(),
      paging: true,
      heartbeats: 40,
      pagesFiring: 1,
      pagesResolved: 0,
      run: 4,
    };
    // withSwitch's first heartbeat ends the carried-over silence.
    await withSwitch(activities, { windowSeconds: WINDOW, state }, async ({ status }) => {
      await waitFor('the resolved message', async () => pages.length === 1);
      assert.equal(pages[0].status, 'resolved');
      assert.ok(pages[0].silenceSeconds >= 1800);
      const st = await status();
      assert.equal(st.run, 5);
      assert.equal(st.paging, false);
      assert.equal(st.pagesResolved, 1);
    });
  });

  it('retries an undelivered page later and still pages only once', async () => {
    const { pages, activities, attempts } = stubPages({ failFirst: 2 });
    await withSwitch(activities, { windowSeconds: WINDOW, retryPageSeconds: 60 }, async ({ status }) => {
      await suite.env.sleep(s(WINDOW + 5));
      await waitFor('the first failed attempt', async () => attempts() === 1);
      assert.match((await status()).lastPageError ?? '', /receiver down/);
      await suite.env.sleep(s(200));
      await waitFor('the delivered page', async () => pages.length === 1);
      assert.equal(attempts(), 3);
      await suite.env.sleep(s(3600));
      assert.equal(pages.length, 1);
      assert.equal((await status()).lastPageError, undefined);
    });
  });
});
