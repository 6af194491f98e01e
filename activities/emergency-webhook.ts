import { readSecret } from '../lib/config/load';
import type { SecdrConfig } from '../lib/config/schema';
import { fail, FailureType } from '../lib/fail';

/** What the dead man's switch sends to the emergency webhook; the JSON body, exactly. */
export interface EmergencyPage {
  /** Human-readable message (Slack/Mattermost-compatible `text`). */
  text: string;
  status: 'firing' | 'resolved';
  /** Firing: seconds since the last heartbeat. Resolved: how long the silence lasted. */
  silenceSeconds: number;
  /** ISO time of the last heartbeat before the silence (firing) or of the one that ended it (resolved); null when none was ever received. */
  lastHeartbeatAt: string | null;
}

/** Scheme and host only: the path or query of an emergency webhook URL often is the token. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * The emergency channel of the dead man's switch: a plain HTTP POST to a webhook that does not go
 * through Alertmanager (the thing that may be broken). The URL is read from the worker's config
 * (`deadMansSwitch.emergencyWebhook.url`, a file or env reference) inside the activity, so it never
 * enters workflow history; errors name only its scheme and host.
 */
export function createEmergencyWebhookActivities(config: SecdrConfig, opts: { timeoutMs?: number } = {}) {
  return {
    async sendEmergencyPage(page: EmergencyPage): Promise<void> {
      const ref = config.deadMansSwitch?.emergencyWebhook?.url;
      if (!ref) {
        throw fail(
          FailureType.InvalidInput,
          "deadMansSwitch.emergencyWebhook.url is not configured: the dead man's switch has nowhere to page; set it to a file or env reference holding the webhook URL",
        );
      }
      const url = readSecret(ref, 'deadMansSwitch.emergencyWebhook.url');
      const where = redactUrl(url);
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(page),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch (err) {
        const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
        throw fail(
          FailureType.EmergencyWebhookFailed,
          `emergency webhook ${where} unreachable (${cause}); check the URL and the network path from the worker`,
        );
      }
      const body = (await res.text()).slice(0, 200);
      if (!res.ok) {
        throw fail(
          FailureType.EmergencyWebhookFailed,
          `emergency webhook ${where} answered ${res.status} (${body.replace(/\s+/g, ' ')}); check the URL's token and the receiver`,
        );
      }
    },
  };
}
