#!/usr/bin/env node
import './compile-cache';
import { Command } from 'commander';
import { loadConfigOrExit } from './commands/common';
import { addDrillCommands } from './commands/drill';

// Each command imports what it needs when it runs: loading the Temporal SDK and the AWS SDK
// for `--help` or `snapshot verify` would cost seconds of start-up (docs/benchmarks.md).
const connectClient: typeof import('../lib/temporal/connect').connectClient = async (...args) =>
  (await import('../lib/temporal/connect')).connectClient(...args);

const program = new Command()
  .name('secdr')
  .description('Security-infrastructure disaster recovery as durable Temporal workflows')
  .option('-c, --config <file>', 'config file (default: $SECDR_CONFIG or ./secdr.yaml)')
  .showHelpAfterError();

const config = () => loadConfigOrExit(program.opts<{ config?: string }>().config);
const exit = (code: number) => void (process.exitCode = code);

program
  .command('worker')
  .description('run a worker: every secdr workflow and activity, on the configured task queue')
  .action(async () => (await import('./commands/worker')).workerCommand(config()));

program
  .command('webhook')
  .description("receive Alertmanager's Watchdog on /watchdog and keep the dead man's switch workflow alive (docs/dead-mans-switch.md)")
  .action(async () => {
    const cfg = config();
    await (await import('./commands/webhook')).webhookCommand(await connectClient(cfg), cfg);
  });

program
  .command('dev')
  .description('start the embedded Temporal dev server with its Web UI (and codec server when a config is given)')
  .action(async () =>
    (await import('./commands/dev')).devCommand(program.opts<{ config?: string }>().config ? config() : undefined),
  );

program
  .command('config')
  .description('configuration')
  .command('check')
  .argument('<file>', 'YAML config file')
  .description('validate a config file; exit 0 when valid, 2 with each problem otherwise')
  .action(async (file: string) => exit((await import('./commands/config-check')).configCheckCommand(file)));

const snapshot = program
  .command('snapshot')
  .description('take a verified Vault snapshot now (or: snapshot list | snapshot verify FILE)')
  .option('--cluster <name>', 'cluster from the config (default: the first)')
  .option('--wait', 'follow progress and exit non-zero on failure')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { cluster?: string; wait?: boolean; json?: boolean }) => {
    const cfg = config();
    const { snapshotCommand } = await import('./commands/procedures');
    exit(await snapshotCommand(cfg, opts.cluster ?? cfg.clusters[0].name, opts));
  });

snapshot
  .command('list')
  .description('verified snapshots in the catalog, newest first')
  .option('--cluster <name>', 'cluster (default: the first)')
  .option('--storage <name>', 'storage (default: the first)')
  .option('--json', 'print JSON')
  .action(async (opts: { cluster?: string; storage?: string; json?: boolean }) => {
    const cfg = config();
    const storage = cfg.storage.find((s) => s.name === (opts.storage ?? cfg.storage[0].name));
    if (!storage) return exit(2);
    const { createStore } = await import('../lib/storage/snapshot-store');
    const list = await createStore(storage).list(opts.cluster ?? cfg.clusters[0].name);
    if (opts.json) console.log(JSON.stringify(list, null, 2));
    else
      for (const s of list)
        console.log(
          `${s.key}  ${s.takenAt}  ${s.bytes} bytes  raft index ${s.raftIndex}  sha256 ${s.sha256.slice(0, 16)}…`,
        );
  });

snapshot
  .command('verify')
  .argument('<file>', 'snapshot file')
  .option('--json', 'print JSON')
  .description('verify a raft snapshot archive (exit 0 valid, 1 corrupt, 2 unreadable)')
  .action(async (file: string, opts: { json?: boolean }) =>
    exit(await (await import('./commands/snapshot-verify')).snapshotVerifyCommand(file, opts)),
  );

program
  .command('restore')
  .description('restore the newest (or a named) verified snapshot into a fresh target and verify it')
  .requiredOption('--target <name|url>', 'restore target from the config')
  .option('--cluster <name>', 'source cluster (default: the first)')
  .option('--snapshot <latest|key>', 'snapshot to restore', 'latest')
  .option('--storage <name>', 'storage to restore from (default: the first)')
  .option('--wait', 'follow progress and exit non-zero on failure or SLO breach')
  .option('--json', 'print the report as JSON')
  .action(
    async (opts: {
      target: string;
      cluster?: string;
      snapshot: string;
      storage?: string;
      wait?: boolean;
      json?: boolean;
    }) => {
      const cfg = config();
      const { restoreCommand } = await import('./commands/procedures');
      exit(await restoreCommand(cfg, { ...opts, cluster: opts.cluster ?? cfg.clusters[0].name }));
    },
  );

program
  .command('unseal')
  .description(
    'prompt for Shamir key shares (hidden) and send them straight to Vault; keys never pass through Temporal',
  )
  .requiredOption('--target <url>', 'Vault address to unseal')
  .option('--ca-file <file>', 'CA certificate for TLS')
  .option('--workflow <id>', 'restore workflow to nudge after each share')
  .action(async (opts: { target: string; caFile?: string; workflow?: string }) => {
    const nudge = opts.workflow
      ? async () => {
          const { unsealProgressSignal } = await import('../workflows/vault-restore');
          const client = await connectClient(config());
          await client.workflow.getHandle(opts.workflow!).signal(unsealProgressSignal);
        }
      : undefined;
    exit(await (await import('./commands/unseal')).unsealCommand(opts.target, { caFile: opts.caFile, nudge }));
  });

program
  .command('schedules')
  .description('Temporal Schedules')
  .command('apply')
  .description('create or update the daily snapshot and weekly test-restore Schedules from the config (idempotent)')
  .action(async () => {
    const cfg = config();
    const { applySchedules } = await import('./commands/schedules');
    for (const r of await applySchedules(await connectClient(cfg), cfg)) console.log(`${r.action} ${r.id}`);
  });

program
  .command('status')
  .argument('<workflowId>', 'workflow id (printed when a procedure starts)')
  .option('--json', 'print JSON')
  .description('state, current step and phase of a run')
  .action(async (id: string, opts: { json?: boolean }) => {
    const { statusCommand } = await import('./commands/status');
    exit(await statusCommand(await connectClient(config()), id, Boolean(opts.json)));
  });

// Drills come from the procedure registry (procedures/): one subcommand each.
addDrillCommands(program, config, exit);

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
