import { z } from 'zod';

// The alerting-delivery drill and the quarterly drill (docs/runbooks/quarterly-drill.md).
// schema.ts imports this file to add the `alertingDrill` and `quarterlyDrill` sections.

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name like cluster or team');

export const alertingDrillConfig = z
  .object({
    /**
     * Where the drill sees notifications arrive: `GET <url>?drill_id=ID` answers
     * `{"deliveries":[{"receiver","status":"firing"|"resolved","receivedAt"}]}` for every notification
     * carrying the drill id. In tests: the recording receivers (dev-stack/recording-receivers.ts).
     */
    deliveryProbe: z
      .object({ url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL like http://127.0.0.1:9096/deliveries') })
      .strict(),
    /** Seconds from posting the alert until the notification arrives, group_wait included (default 120). */
    sloSeconds: z.number().int().positive().default(120),
    /** Seconds from ending the alert until the resolved notification arrives (default 120; group_interval counts). */
    resolvedSloSeconds: z.number().int().positive().default(120),
    /** The receiver the drill alert must reach; the drill fails when the route resolves elsewhere. */
    expectReceiver: z.string().min(1).optional(),
    /** Extra labels on the drill alert (e.g. `team: security`) so it takes the same route as your pages. */
    labels: z.record(labelName, z.string()).default({}),
  })
  .strict();
export type AlertingDrillConfig = z.infer<typeof alertingDrillConfig>;

/** Drills the quarterly drill can run, in their default order; each is a procedure in the registry. */
export const DRILL_NAMES = ['vault-restore', 'log-failover', 'ca-outage', 'alerting'] as const;
export type DrillName = (typeof DRILL_NAMES)[number];

export const quarterlyDrillConfig = z
  .object({
    /** Cron (UTC) for `secdr schedules apply`; default 03:00 on the first day of each quarter. Empty: no Schedule. */
    schedule: z.string().default('0 3 1 1,4,7,10 *'),
    /** Which drills run, in this order. Leave one out to skip it. */
    drills: z
      .array(z.enum(DRILL_NAMES, { message: `must be one of ${DRILL_NAMES.join(', ')}` }))
      .min(1, 'list at least one drill')
      .refine((d) => new Set(d).size === d.length, 'each drill may appear once')
      .default([...DRILL_NAMES]),
    /** Wait for a person to approve (`secdr drill approve ID`) before anything is stopped. */
    approval: z
      .object({
        required: z.boolean().default(false),
        /** Seconds to wait for approval; then the drill ends as "not run" (default 86400). */
        timeoutSeconds: z.number().int().positive().default(86_400),
      })
      .strict()
      .default({ required: false, timeoutSeconds: 86_400 }),
    /** Stop at the first failed drill instead of running the others (default false). */
    stopOnFailure: z.boolean().default(false),
  })
  .strict();
export type QuarterlyDrillConfig = z.infer<typeof quarterlyDrillConfig>;
export const quarterlyDrillDefaults: QuarterlyDrillConfig = quarterlyDrillConfig.parse({});
