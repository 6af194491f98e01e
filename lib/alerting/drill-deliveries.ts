/**
 * The alerting drill's delivery probe in production: `secdr webhook` records every Alertmanager
 * notification posted to `/drill/<receiver>` that carries a `drill_id` label, and answers
 * `GET /drill/deliveries?drill_id=ID` with them (the protocol alertingDrill.deliveryProbe.url
 * speaks). Add a webhook_config pointing at `/drill/<receiver>` to the on-call receiver, beside its
 * PagerDuty/Opsgenie integration: the same receiver's notification is what the drill then sees.
 * Only drill ids, receiver names, statuses and times are kept (never labels or annotations), in
 * memory, bounded.
 */
import { invalidInput } from '../failure-types';

export interface DrillDelivery {
  receiver: string;
  status: 'firing' | 'resolved';
  receivedAt: string;
  drillId: string;
}

export interface DrillDeliveryLog {
  /** Records what a webhook payload says about drill alerts; returns how many it recorded. */
  record(receiver: string, payload: { status?: string; alerts: { status?: string; labels?: Record<string, string> }[] }): number;
  query(drillId: string): Omit<DrillDelivery, 'drillId'>[];
}

const RECEIVER = /^[A-Za-z0-9_.-]{1,100}$/;

export function createDrillDeliveryLog(maxEntries = 1000): DrillDeliveryLog {
  const entries: DrillDelivery[] = [];
  return {
    record(receiver, payload) {
      if (!RECEIVER.test(receiver)) throw invalidInput(`receiver name "${receiver}" in the path: use letters, digits, ".", "_" or "-"`);
      const receivedAt = new Date().toISOString();
      let n = 0;
      for (const a of payload.alerts) {
        const drillId = a.labels?.drill_id;
        const status = a.status ?? payload.status;
        if (!drillId || (status !== 'firing' && status !== 'resolved')) continue;
        entries.push({ receiver, status, receivedAt, drillId: drillId.slice(0, 200) });
        n++;
      }
      // Old drills fall off; a drill reads its deliveries within minutes.
      if (entries.length > maxEntries) entries.splice(0, entries.length - maxEntries);
      return n;
    },
    query(drillId) {
      return entries.filter((e) => e.drillId === drillId).map(({ receiver, status, receivedAt }) => ({ receiver, status, receivedAt }));
    },
  };
}
