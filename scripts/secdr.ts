#!/usr/bin/env tsx
import { Command } from 'commander';
import { configCheckCommand } from './commands/config-check';
import { loadConfigOrExit } from './commands/common';
import { devCommand } from './commands/dev';
import { workerCommand } from './commands/worker';

const program = new Command()
  .name('secdr')
  .description('Security-infrastructure disaster recovery as durable Temporal workflows')
  .option('-c, --config <file>', 'config file (default: $SECDR_CONFIG or ./secdr.yaml)')
  .showHelpAfterError();

const configOpt = () => program.opts<{ config?: string }>().config;

program
  .command('worker')
  .description('run a worker: every secdr workflow and activity, on the configured task queue')
  .action(async () => workerCommand(loadConfigOrExit(configOpt())));

program
  .command('dev')
  .description('start the embedded Temporal dev server with its Web UI (and codec server when a config exists)')
  .option('--no-codec', 'do not start the codec server')
  .action(async (opts: { codec: boolean }) => devCommand(opts.codec && configOpt() ? loadConfigOrExit(configOpt()) : undefined));

program
  .command('config')
  .description('configuration')
  .command('check')
  .argument('<file>', 'YAML config file')
  .description('validate a config file; exit 0 when valid, 2 with each problem otherwise')
  .action((file: string) => {
    process.exitCode = configCheckCommand(file);
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
