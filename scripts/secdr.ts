#!/usr/bin/env tsx
import { Command } from 'commander';
import { createStore } from '../lib/storage/snapshot-store';
import { connectClient } from '../lib/temporal/connect';
import { unsealProgressSignal } from '../workflows/vault-restore';
import { configCheckCommand } from './commands/config-check';
import { loadConfigOrExit } from './commands/common';
import { devCommand } from './commands/dev';
import { restoreCommand, snapshotCommand } from './commands/procedures';
import { applySchedules } from './commands/schedules';
import { snapshotVerifyCommand } from './commands/snapshot-verify';
import { statusCommand } from './commands/status';
import { unsealCommand } from './commands/unseal';
import { webhookCommand } from './commands/webhook';
import { workerCommand } from './commands/worker';

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
  .action(async () => workerCommand(config()));

program
  .command('webhook')
  .description("receive Alertmanager's Watchdog on /watchdog and keep the dead man's switch workflow alive (docs/dead-mans-switch.md)")
  .action(async () => {
    const cfg = config();
    await webhookCommand(await connectClient(cfg), cfg);
  });

program
  .command('dev')
  .description('start the embedded Temporal dev server with its Web UI (and codec server when a config is given)')
  .action(async () => devCommand(program.opts<{ config?: string }>().config ? config() : undefined));

program
  .command('config')
  .description('configuration')
  .command('check')
  .argument('<file>', 'YAML config file')
  .description('validate a config file; exit 0 when valid, 2 with each problem otherwise')
  .action((file: string) => exit(configCheckCommand(file)));

const snapshot = program
  .command('snapshot')
  .description('take a verified Vault snapshot now (or: snapshot list | snapshot verify FILE)')
  .option('--cluster <name>', 'cluster from the config (default: the first)')
  .option('--wait', 'follow progress and exit non-zero on failure')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { cluster?: string; wait?: boolean; json?: boolean }) => {
    const cfg = config();
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
    const list = await createStore(storage).list(opts.cluster ?? cfg.clusters[0].name);
    if (opts.json) console.log(JSON.stringify(list, null, 2));
    else for (const s of list) console.log(`${s.key}  ${s.takenAt}  ${s.bytes} bytes  raft index ${s.raftIndex}  sha256 ${s.sha256.slice(0, 16)}…`);
  });

snapshot
  .command('verify')
  .argument('<file>', 'snapshot file')
  .option('--json', 'print JSON')
  .description('verify a raft snapshot archive (exit 0 valid, 1 corrupt, 2 unreadable)')
  .action(async (file: string, opts: { json?: boolean }) => exit(await snapshotVerifyCommand(file, opts)));

program
  .command('restore')
  .description('restore the newest (or a named) verified snapshot into a fresh target and verify it')
  .requiredOption('--target <name|url>', 'restore target from the config')
  .option('--cluster <name>', 'source cluster (default: the first)')
  .option('--snapshot <latest|key>', 'snapshot to restore', 'latest')
  .option('--storage <name>', 'storage to restore from (default: the first)')
  .option('--wait', 'follow progress and exit non-zero on failure or SLO breach')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { target: string; cluster?: string; snapshot: string; storage?: string; wait?: boolean; json?: boolean }) => {
    const cfg = config();
    exit(await restoreCommand(cfg, { ...opts, cluster: opts.cluster ?? cfg.clusters[0].name }));
  });

program
  .command('unseal')
  .description('prompt for Shamir key shares (hidden) and send them straight to Vault; keys never pass through Temporal')
  .requiredOption('--target <url>', 'Vault address to unseal')
  .option('--ca-file <file>', 'CA certificate for TLS')
  .option('--workflow <id>', 'restore workflow to nudge after each share')
  .action(async (opts: { target: string; caFile?: string; workflow?: string }) => {
    const nudge = opts.workflow
      ? async () => {
          const client = await connectClient(config());
          await client.workflow.getHandle(opts.workflow!).signal(unsealProgressSignal);
        }
      : undefined;
    exit(await unsealCommand(opts.target, { caFile: opts.caFile, nudge }));
  });

program
  .command('schedules')
  .description('Temporal Schedules')
  .command('apply')
  .description('create or update the daily snapshot and weekly test-restore Schedules from the config (idempotent)')
  .action(async () => {
    const cfg = config();
    for (const r of await applySchedules(await connectClient(cfg), cfg)) console.log(`${r.action} ${r.id}`);
  });

program
  .command('status')
  .argument('<workflowId>', 'workflow id (printed when a procedure starts)')
  .option('--json', 'print JSON')
  .description('state, current step and phase of a run')
  .action(async (id: string, opts: { json?: boolean }) => exit(await statusCommand(await connectClient(config()), id, Boolean(opts.json))));

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
