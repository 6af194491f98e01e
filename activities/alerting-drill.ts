import { setTimeout as sleep } from 'node:timers/promises';
import { receiverAtPath, resolveRoutes, type ResolvedRoute } from '../lib/alerting/routes';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';
import { cancellationSignal, heartbeat } from './activity-context';

/**
 * The alerting-delivery drill's activities (docs/runbooks/quarterly-drill.md#alerting): resolve the
 * route the drill alert takes through the routing tree Alertmanager actually runs, post the alert,
 * prove it is neither silenced nor inhibited, and watch the delivery probe for the notification
 * and for its resolution. Nothing here returns a secret: only label values, route paths and times.
 */

export interface DrillAlertInput {
  /** alertname, severity, drill_id and the configured extra labels. */
  labels: Record<string, string>;
}

export interface DrillRoute {
  routes: ResolvedRoute[];
  /** Notes for the report: mute intervals on the route, receivers besides the expected one. */
  notes: string[];
}

interface ApiSilence {
  id: string;
  status: { state: string };
  createdBy?: string;
  comment?: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
}

interface ApiAlert {
  labels: Record<string, string>;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

const describeRoute = (r: ResolvedRoute) => `${r.path} → receiver "${r.receiver}"`;

export function createAlertingDrillActivities(config: SecdrConfig) {
  const amBase = () => {
    if (!config.alertmanager) throw fail(FailureType.InvalidInput, 'the alerting drill needs `alertmanager.url` in the config: the Alertmanager the drill alert is posted to');
    return config.alertmanager.url.replace(/\/$/, '');
  };
  const drillCfg = () => {
    if (!config.alertingDrill)
      throw fail(FailureType.InvalidInput, 'the alerting drill needs an `alertingDrill` section with `deliveryProbe.url` (see docs/runbooks/quarterly-drill.md#delivery-probe)');
    return config.alertingDrill;
  };

  const am = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const url = `${amBase()}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw fail(FailureType.AlertmanagerUnavailable, `Alertmanager ${url}: ${(err as Error).message}; check that it runs and alertmanager.url is right`);
    }
    const text = await res.text();
    if (!res.ok) {
      const type = res.status === 400 ? FailureType.InvalidInput : FailureType.AlertmanagerUnavailable;
      throw fail(type, `Alertmanager ${init?.method ?? 'GET'} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };

  return {
    /**
     * Which receiver(s) the drill alert will reach, from the routing tree Alertmanager runs now
     * (its /api/v2/status), as `amtool config routes test` would say. Fails with
     * AlertRouteSwallowed when the route ends in a receiver without integrations, misses the
     * expected receiver, or an active silence matches the drill alert.
     */
    async resolveDrillRoute(input: DrillAlertInput): Promise<DrillRoute> {
      const drill = drillCfg();
      const status = await am<{ config: { original: string } }>('/api/v2/status');
      const routes = resolveRoutes(status.config.original, input.labels);
      const notes: string[] = [];
      const useful = routes.filter((r) => r.integrations.length > 0);
      if (useful.length === 0) {
        throw fail(
          FailureType.AlertRouteSwallowed,
          `the drill alert ${JSON.stringify(input.labels)} is routed to ${routes.map(describeRoute).join(' and ')}, which notifies nobody (no *_configs); route critical alerts to the on-call receiver in alertmanager.yml`,
          { routes: routes.map(describeRoute) },
        );
      }
      if (drill.expectReceiver && !routes.some((r) => r.receiver === drill.expectReceiver)) {
        throw fail(
          FailureType.AlertRouteSwallowed,
          `the drill alert is routed to ${routes.map(describeRoute).join(' and ')}, not to the expected receiver "${drill.expectReceiver}" (alertingDrill.expectReceiver); fix the routing tree or the expectation`,
          { routes: routes.map(describeRoute) },
        );
      }
      for (const r of routes.filter((x) => x.integrations.length === 0)) notes.push(`also routed to ${describeRoute(r)}, which notifies nobody`);
      for (const r of routes.filter((x) => x.muteTimeIntervals.length > 0)) notes.push(`${describeRoute(r)} is muted during ${r.muteTimeIntervals.join(', ')}: pages at those times are held back`);

      const silences = await am<ApiSilence[]>('/api/v2/silences');
      const hit = silences.filter(
        (s) =>
          s.status.state === 'active' &&
          s.matchers.every((m) => {
            const v = input.labels[m.name] ?? '';
            const ok = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
            return m.isEqual === false ? !ok : ok;
          }),
      );
      if (hit.length > 0) {
        const which = hit.map((s) => `silence ${s.id}${s.createdBy ? ` by ${s.createdBy}` : ''}${s.comment ? ` ("${s.comment}")` : ''}`).join(', ');
        throw fail(
          FailureType.AlertRouteSwallowed,
          `the drill alert would be silenced on ${routes.map(describeRoute).join(' and ')} by ${which}: a real page matching it would be swallowed too; expire the silence or narrow its matchers`,
          { routes: routes.map(describeRoute), silences: hit.map((s) => s.id) },
        );
      }
      return { routes, notes };
    },

    /** Posts the drill alert (firing for an hour: the drill ends it), or ends it (`end`: endsAt now). */
    async postDrillAlert(input: DrillAlertInput & { end?: boolean; summary?: string }): Promise<{ postedAt: string }> {
      const now = new Date();
      await am('/api/v2/alerts', {
        method: 'POST',
        body: JSON.stringify([
          {
            labels: input.labels,
            annotations: {
              summary: input.summary ?? 'secdr alerting drill: a test page, no action needed; it resolves by itself',
              description: `Disaster-recovery drill ${input.labels.drill_id ?? ''} proving that critical alerts reach the on-call receiver.`,
            },
            ...(input.end ? { endsAt: now.toISOString() } : { startsAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString() }),
          },
        ]),
      });
      return { postedAt: now.toISOString() };
    },

    /**
     * After posting: Alertmanager lists the drill alert and marks it neither silenced nor
     * inhibited (its API evaluates both when listing). Waits up to 10 s for the alert to show.
     */
    async checkDrillAlertActive(input: DrillAlertInput & { route: string }): Promise<{ receivers: string[] }> {
      const filter = encodeURIComponent(`drill_id="${input.labels.drill_id}"`);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const alerts = await am<ApiAlert[]>(`/api/v2/alerts?filter=${filter}&silenced=true&inhibited=true&active=true&unprocessed=true`);
        const a = alerts[0];
        if (a && a.status.state === 'suppressed') {
          const why = [
            ...a.status.inhibitedBy.map((f) => `inhibited by firing alert ${f}`),
            ...a.status.silencedBy.map((id) => `silenced by ${id}`),
          ].join(', ');
          throw fail(FailureType.AlertRouteSwallowed, `the drill alert on ${input.route} is ${why}: a real page like it would not be sent; check inhibit_rules and silences`, {
            route: input.route,
            inhibitedBy: a.status.inhibitedBy,
            silencedBy: a.status.silencedBy,
          });
        }
        if (a && a.status.state === 'active') return { receivers: a.receivers.map((r) => r.name) };
        if (Date.now() > deadline) throw fail(FailureType.AlertmanagerUnavailable, `Alertmanager ${amBase()} took the drill alert but does not list it after 10 s`);
        await sleep(250);
      }
    },

    /**
     * Polls the delivery probe until a notification with `status` carrying the drill id arrives at
     * `receiver` (the one the route resolved to), heartbeating. A notification at another receiver
     * does not count: the page reached someone who is not on call. Gives up after `timeoutSeconds`
     * with AlertNotDelivered, naming the route, the expected receiver, where it arrived instead and
     * what Alertmanager counts as failed notifications.
     */
    async waitForDelivery(input: {
      drillId: string;
      status: 'firing' | 'resolved';
      since: string;
      route: string;
      /** The route's receiver; absent: looked up at `route` in the routing tree Alertmanager runs. */
      receiver?: string;
      timeoutSeconds: number;
    }): Promise<{ receiver: string; receivedAt: string; delaySeconds: number }> {
      const expected = input.receiver ?? receiverAtPath((await am<{ config: { original: string } }>('/api/v2/status')).config.original, input.route);
      if (expected === undefined) {
        throw fail(
          FailureType.AlertRouteSwallowed,
          `the route ${input.route} the drill alert was resolved to is no longer in the routing tree Alertmanager runs (was its config reloaded during the drill?); run the drill again`,
          { route: input.route },
        );
      }
      const probe = new URL(drillCfg().deliveryProbe.url);
      probe.searchParams.set('drill_id', input.drillId);
      const deadline = Date.now() + input.timeoutSeconds * 1000;
      const signal = cancellationSignal();
      let lastError = '';
      let elsewhere: string[] = [];
      while (Date.now() < deadline) {
        if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : fail(FailureType.AlertNotDelivered, `cancelled while waiting for the ${input.status} notification of drill ${input.drillId}`);
        try {
          const res = await fetch(probe, { signal: AbortSignal.timeout(5000) });
          if (!res.ok) throw new Error(`answered ${res.status}`); // eslint-disable-line no-restricted-syntax -- caught below: only its text goes into lastError
          const body = (await res.json()) as { deliveries?: { receiver: string; status: string; receivedAt: string }[] };
          // The drill id is unique to this run, so any match is ours; no clock comparison across hosts.
          const mine = (body.deliveries ?? []).filter((d) => d.status === input.status);
          const hit = mine.find((d) => atReceiver(d.receiver, expected));
          elsewhere = [...new Set(mine.filter((d) => d !== hit).map((d) => d.receiver))];
          if (hit) return { receiver: hit.receiver, receivedAt: hit.receivedAt, delaySeconds: (Date.parse(hit.receivedAt) - Date.parse(input.since)) / 1000 };
          lastError = '';
        } catch (err) {
          lastError = `delivery probe ${probe.origin}${probe.pathname}: ${(err as Error).message}`;
        }
        heartbeat({ waitingFor: input.status, lastError });
        await sleep(500);
      }
      const failed = await failedNotifications(amBase()).catch(() => '');
      throw fail(
        FailureType.AlertNotDelivered,
        `no ${input.status} notification for drill ${input.drillId} reached the expected receiver "${expected}" on ${input.route} within ${input.timeoutSeconds} s` +
          (elsewhere.length ? `; it arrived at ${elsewhere.map((r) => `"${r}"`).join(', ')} instead: the routing tree Alertmanager runs now sends the drill alert elsewhere than the route resolved before posting (config reloaded?), or the probe records another receiver's notifications` : '') +
          `${lastError ? `; ${lastError}` : ''}${failed ? `; Alertmanager counts failed notifications: ${failed}` : ''}`,
        { route: input.route, status: input.status, expectedReceiver: expected, deliveredTo: elsewhere },
      );
    },
  };
}

/**
 * Whether a probe's receiver name is the route's receiver: `secdr webhook` records `/drill/<receiver>`
 * as `<receiver>`; the dev-stack recording receivers record `webhook/<receiver>` and
 * `pagerduty/<receiver>` (dev-stack/recording-receivers.ts).
 */
export function atReceiver(recorded: string, receiver: string): boolean {
  return recorded === receiver || recorded.endsWith(`/${receiver}`);
}

/** `pagerduty 3, webhook 1` from Alertmanager's own counters: why a notification did not arrive. */
async function failedNotifications(base: string): Promise<string> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return [...text.matchAll(/^alertmanager_notifications_failed_total\{integration="([^"]+)"\} (\d+(?:\.\d+)?)/gm)]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => `${m[1]} ${m[2]}`)
    .join(', ');
}
