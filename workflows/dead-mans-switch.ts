import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createEmergencyWebhookActivities, EmergencyPage } from '../activities/emergency-webhook';
import { fail, FailureType, failureMessage } from '../lib/fail';
import { runProcedure, type Procedure } from './frame';

/**
 * Activity options for the emergency page: a side channel like `profiles.sideEffect`, but it must get
 * through, so a few more attempts with backoff; a missing configuration is final. After the last
 * attempt the workflow itself tries again later (see `retryPageSeconds`).
 */
export const emergencyPageProfile = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [FailureType.InvalidInput],
  },
} as const satisfies ActivityOptions;

const { sendEmergencyPage } =
  proxyActivities<ReturnType<typeof createEmergencyWebhookActivities>>(emergencyPageProfile);

/** One Watchdog delivery from Alertmanager, as forwarded by `secdr webhook`. Nothing secret. */
export interface Heartbeat {
  /** ISO time the webhook received the delivery (the webhook host's clock). */
  receivedAt: string;
  /** Only `firing` counts as a heartbeat. */
  status: 'firing' | 'resolved';
}

export const heartbeatSignal = defineSignal<[Heartbeat]>('heartbeat');

/** What a run hands to the next one on continue-as-new. Times are workflow time (ISO). */
export interface DeadMansSwitchState {
  /** When the switch started watching: silence counts from here until the first heartbeat. */
  watchingSince: string;
  /** Last firing heartbeat (workflow time); absent before the first. */
  lastHeartbeatAt?: string;
  /** The webhook's `receivedAt` of that heartbeat. */
  lastHeartbeatReceivedAt?: string;
  /** A firing page was delivered for the current silence; the next heartbeat sends "resolved". */
  paging: boolean;
  /** Start of the current silence (the last heartbeat before it, or `watchingSince`). */
  silenceSince?: string;
  /** Totals over every run. */
  heartbeats: number;
  pagesFiring: number;
  pagesResolved: number;
  /** Last page that could not be delivered (message only; the URL is never in it). */
  lastPageError?: string;
  /** 1 for the first run, +1 per continue-as-new. */
  run: number;
}

export interface DeadMansSwitchInput {
  /** Seconds without a firing heartbeat before the emergency page. */
  windowSeconds: number;
  /** Continue-as-new after this many heartbeats in one run (bounds history). Default 500 (~8 h at one a minute). */
  maxHeartbeatsPerRun?: number;
  /** Seconds between attempts when a firing page could not be delivered. Default min(windowSeconds, 60). */
  retryPageSeconds?: number;
  /** Carried over from the previous run; absent on the first. */
  state?: DeadMansSwitchState;
}

export interface DeadMansSwitchStatus extends DeadMansSwitchState {
  windowSeconds: number;
  heartbeatsThisRun: number;
}

export const deadMansSwitchStatusQuery = defineQuery<DeadMansSwitchStatus>('status');

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (fromIso: string, toMs: number) => Math.round((toMs - Date.parse(fromIso)) / 1000);

/**
 * Dead man's switch. Alertmanager sends the always-firing Watchdog every minute to `secdr webhook`,
 * which signals `heartbeat` here. When no firing heartbeat arrives for `windowSeconds`, the switch
 * POSTs one page to an emergency webhook that does not depend on Alertmanager; it does not page again
 * for the same silence, and sends a "resolved" message when heartbeats return. Runs forever,
 * continuing as new to keep its history bounded; the state (paging or not, last heartbeat) carries over.
 */
export async function deadMansSwitchWorkflow(input: DeadMansSwitchInput): Promise<never> {
  let status: () => DeadMansSwitchStatus = () => ({ ...emptyState(), windowSeconds: input.windowSeconds, heartbeatsThisRun: 0 });
  await runProcedure({ procedure: 'dead-mans-switch', statusExtra: () => ({ ...status() }) }, {}, async (p) => {
    await watch(input, p, (get) => void (status = get));
  });
  // Unreachable: the watch loop only ends by failing or continuing as new.
  throw fail(FailureType.InvalidInput, "the dead man's switch stopped watching");
}

const emptyState = (): DeadMansSwitchState => ({ watchingSince: iso(Date.now()), paging: false, heartbeats: 0, pagesFiring: 0, pagesResolved: 0, run: 1 });

/** The watch loop; `expose` hands the frame the live status for its `status` query. */
async function watch(input: DeadMansSwitchInput, p: Procedure, expose: (get: () => DeadMansSwitchStatus) => void): Promise<void> {
  if (!(input.windowSeconds > 0)) {
    throw fail(FailureType.InvalidInput, `windowSeconds must be a positive number of seconds, got ${input.windowSeconds}; set deadMansSwitch.windowSeconds in the config`);
  }
  const windowMs = input.windowSeconds * 1000;
  const maxPerRun = input.maxHeartbeatsPerRun ?? 500;
  const retryMs = (input.retryPageSeconds ?? Math.min(input.windowSeconds, 60)) * 1000;
  const state: DeadMansSwitchState = input.state ? { ...input.state, run: input.state.run + 1 } : emptyState();
  let received = 0;
  let handled = 0;

  setHandler(heartbeatSignal, (hb) => {
    if (hb?.status !== 'firing') return;
    received++;
    state.heartbeats++;
    state.lastHeartbeatAt = iso(Date.now());
    state.lastHeartbeatReceivedAt = typeof hb.receivedAt === 'string' ? hb.receivedAt.slice(0, 40) : undefined;
  });
  expose(() => ({ ...state, windowSeconds: input.windowSeconds, heartbeatsThisRun: received }));
  p.phase(`watching: page after ${input.windowSeconds} s without a Watchdog heartbeat`);

  const newHeartbeat = () => received !== handled;
  const page = async (pg: EmergencyPage): Promise<boolean> => {
    try {
      await p.step(`page the emergency webhook (${pg.status})`, () => sendEmergencyPage(pg));
      state.lastPageError = undefined;
      p.phase(pg.status === 'firing' ? 'paging: Watchdog silent' : `watching: page after ${input.windowSeconds} s without a Watchdog heartbeat`);
      return true;
    } catch (err) {
      state.lastPageError = `${pg.status} page not delivered: ${failureMessage(err)}`;
      log.error(`dead man's switch: ${state.lastPageError}`);
      return false;
    }
  };

  for (;;) {
    if (!state.paging) {
      const since = state.lastHeartbeatAt ?? state.watchingSince;
      const remaining = Date.parse(since) + windowMs - Date.now();
      if (newHeartbeat() || (remaining > 0 && (await condition(newHeartbeat, remaining)))) {
        handled = received;
      } else {
        const silence = seconds(since, Date.now());
        const delivered = await page({
          text:
            `secdr dead man's switch: no Watchdog heartbeat from Alertmanager for ${silence} s (window ${input.windowSeconds} s). ` +
            'Prometheus, Alertmanager or the path to secdr webhook is broken: assume no alert is being delivered.',
          status: 'firing',
          silenceSeconds: silence,
          lastHeartbeatAt: state.lastHeartbeatAt ?? null,
        });
        if (delivered) {
          state.paging = true;
          state.silenceSince = since;
          state.pagesFiring++;
        } else if (await condition(newHeartbeat, retryMs)) {
          handled = received; // the silence ended before anyone could be told: nothing to resolve
        }
      }
    } else {
      await condition(newHeartbeat);
      handled = received;
      const silence = seconds(state.silenceSince ?? state.watchingSince, Date.now());
      // One attempt cycle only: a lost "resolved" must not stop the switch from watching again.
      if (
        await page({
          text: `secdr dead man's switch: Watchdog heartbeats are back after ${silence} s of silence; the alerting pipeline delivers again.`,
          status: 'resolved',
          silenceSeconds: silence,
          lastHeartbeatAt: state.lastHeartbeatAt ?? null,
        })
      ) {
        state.pagesResolved++;
      }
      state.paging = false;
      state.silenceSince = undefined;
    }
    if (!newHeartbeat() && (received >= maxPerRun || workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof deadMansSwitchWorkflow>({ ...input, state });
    }
  }
}
