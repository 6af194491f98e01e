import type { Client } from '@temporalio/client';
import { readSecret } from '../../lib/config/load';
import { deadMansSwitchDefaults, type DeadMansSwitchConfig, type SecdrConfig } from '../../lib/config/schema';
import { createDrillDeliveryLog } from '../../lib/alerting/drill-deliveries';
import { invalidInput } from '../../lib/failure-types';
import { startWebhookServer, type WebhookAuth, type WebhookServer } from '../../lib/webhook-server';
import { deadMansSwitch } from '../../procedures/dead-mans-switch';
import { heartbeatSignal, type deadMansSwitchWorkflow, type Heartbeat } from '../../workflows/dead-mans-switch';

export interface HeartbeatForwarderOptions {
  /** Overrides config.temporal.taskQueue (tests use a unique queue). */
  taskQueue?: string;
  /** Milliseconds one signal may take before the delivery is answered 503. Default 5000. */
  timeoutMs?: number;
}

/**
 * Passes a heartbeat to the dead man's switch with signal-with-start: the signal reaches the running
 * switch, or starts it (with the config's window) when none is running.
 */
export function heartbeatForwarder(client: Client, config: SecdrConfig, opts: HeartbeatForwarderOptions = {}) {
  // Id, workflow type and input come from the registry entry, like every other procedure's.
  const workflowId = deadMansSwitch.singletonId!(config);
  const input = deadMansSwitch.input(config, {});
  return async (hb: Heartbeat): Promise<void> => {
    await client.connection.withDeadline(Date.now() + (opts.timeoutMs ?? 5000), () =>
      client.workflow.signalWithStart<typeof deadMansSwitchWorkflow, [Heartbeat]>(deadMansSwitch.workflowType, {
        workflowId,
        taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
        args: [input],
        signal: heartbeatSignal,
        signalArgs: [hb],
      }),
    );
  };
}

/** Starts the Watchdog receiver on the configured address, forwarding heartbeats through `client`. */
export async function startWatchdogReceiver(
  client: Client,
  config: SecdrConfig,
  opts: HeartbeatForwarderOptions & { port?: number } = {},
): Promise<WebhookServer> {
  const dms = config.deadMansSwitch ?? deadMansSwitchDefaults;
  return startWebhookServer({
    host: dms.listen.host,
    port: opts.port ?? dms.listen.port,
    onHeartbeat: heartbeatForwarder(client, config, opts),
    auth: webhookAuth(dms),
    // The alerting drill's delivery probe: GET /drill/deliveries (docs/runbooks/quarterly-drill.md#delivery-probe).
    drillDeliveries: createDrillDeliveryLog(),
  });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** The credentials /watchdog requires, read from their secretRefs; none only on a loopback address. */
export function webhookAuth(dms: DeadMansSwitchConfig): WebhookAuth | undefined {
  const auth = dms.auth;
  if (!auth) {
    if (!LOOPBACK.test(dms.listen.host)) {
      throw invalidInput(
        `deadMansSwitch.auth: required when listening on ${dms.listen.host} (anyone who reaches it could forge heartbeats); set bearerToken or basicAuth and the same credentials in Alertmanager's webhook_config http_config, or listen on a loopback address (deadMansSwitch.listen.host: 127.0.0.1)`,
      );
    }
    return undefined;
  }
  if ('bearerToken' in auth) return { bearerToken: readSecret(auth.bearerToken, 'deadMansSwitch.auth.bearerToken') };
  return { basicAuth: { username: auth.basicAuth.username, password: readSecret(auth.basicAuth.password, 'deadMansSwitch.auth.basicAuth.password') } };
}

/** `secdr webhook`: receives Alertmanager's Watchdog on /watchdog and keeps the dead man's switch alive, until SIGINT/SIGTERM. */
export async function webhookCommand(client: Client, config: SecdrConfig): Promise<void> {
  const dms = config.deadMansSwitch ?? deadMansSwitchDefaults;
  const server = await startWatchdogReceiver(client, config);
  console.log(
    `secdr webhook listening on ${server.url}/watchdog; heartbeats go to workflow "${deadMansSwitch.singletonId!(config)}" (window ${dms.windowSeconds} s)`,
  );
  if (!dms.auth) {
    console.warn('deadMansSwitch.auth is not configured: /watchdog accepts unauthenticated deliveries (loopback only); see docs/dead-mans-switch.md');
  }
  if (!config.deadMansSwitch?.emergencyWebhook) {
    console.warn(
      'deadMansSwitch.emergencyWebhook is not configured: a silence will be detected but nobody can be paged; see docs/dead-mans-switch.md',
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  await client.connection.close();
}
