import { z } from 'zod';
import { name } from './primitives';

const argv = z.array(z.string().min(1)).min(1, 'give the command as an argument array, e.g. ["systemctl", "stop", "loki"]');

/** How a component is stopped and started: one adapter per component (lib/platform/). */
export const platformConfig = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('kubernetes'),
      kind: z.enum(['StatefulSet', 'Deployment']),
      namespace: z.string().min(1, 'set the namespace of the StatefulSet or Deployment'),
      name: z.string().min(1),
      /** Kubeconfig file; absent: in-cluster config, then $KUBECONFIG / ~/.kube/config. */
      kubeconfig: z.string().optional(),
      context: z.string().optional(),
      /** Scale even though a HorizontalPodAutoscaler controls the resource (it may scale it back). */
      allowHpa: z.boolean().default(false),
      /** Seconds to wait for the rollout (ready replicas) after scaling. */
      rolloutTimeoutSeconds: z.number().int().positive().default(300),
    })
    .strict(),
  z
    .object({
      type: z.literal('process'),
      /** The server's command line, as an argument array. */
      command: argv,
      /** Where the adapter keeps the pid of the process it started. */
      pidFile: z.string().min(1),
      logFile: z.string().min(1),
      /** Ready when this URL answers 2xx. */
      readyUrl: z.string().url().optional(),
      cwd: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
      readyTimeoutSeconds: z.number().int().positive().default(60),
    })
    .strict(),
  z.object({ type: z.literal('systemd'), unit: z.string().min(1), readyUrl: z.string().url().optional() }).strict(),
  z
    .object({
      type: z.literal('command'),
      stop: argv,
      start: argv,
      /** Exit 0 when the component is running and ready. */
      status: argv,
    })
    .strict(),
]);
export type PlatformConfig = z.infer<typeof platformConfig>;

/** A component a drill may stop and start: a log backend, a CA, a DR Vault target. */
export const componentConfig = z.object({ name, platform: platformConfig }).strict();
export type ComponentConfig = z.infer<typeof componentConfig>;
