import type { Command } from 'commander';
import type { SecdrConfig } from '../../lib/config/schema';
import { drills, procedureByName, type ProcedureEntry } from '../../procedures';

/**
 * `secdr drill <name>`: one subcommand per registered drill (procedures/), each with its own
 * options plus --wait, --json and --junit FILE. Exit code: 0 passed with every SLO met, 1
 * failed or breached, 2 bad input. This is how CI runs drills against staging.
 */
export function addDrillCommands(program: Command, config: () => SecdrConfig, exit: (code: number) => void): Command {
  const drill = program.command('drill').description('run a DR drill (log-failover, ca-outage, alerting, quarterly, …)');
  // The restore doubles as the Vault drill; the quarterly drill has its own runner (children's SLOs, merged evidence).
  const restore = procedureByName('vault-restore');
  for (const entry of [...(restore ? [restore] : []), ...drills()]) {
    if (entry.name !== 'quarterly') addDrill(drill, entry, config, exit);
  }
  addQuarterlyCommands(drill, config, exit);
  return drill;
}

function addQuarterlyCommands(group: Command, config: () => SecdrConfig, exit: (code: number) => void): void {
  const entry = procedureByName('quarterly');
  if (!entry) return;
  const run = async (opts: Record<string, string | boolean | undefined>) => {
    const { quarterlyCommand } = await import('./quarterly-drill');
    exit(await quarterlyCommand(config(), entry, opts, { wait: Boolean(opts.wait), json: Boolean(opts.json), junit: opts.junit as string | undefined }));
  };
  const common = (c: Command) =>
    c
      .option('--no-approval', 'skip the approval gate even when quarterlyDrill.approval.required')
      .option('--wait', "follow progress; exit non-zero on failure or any drill's SLO breach")
      .option('--json', 'print the merged report as JSON')
      .option('--junit <file>', 'write the merged run as JUnit XML (one test suite per drill, one case per step)');
  common(group.command('quarterly').description(entry.summary)).action(async (opts: Record<string, string | boolean | undefined>) => run({ ...opts, noApproval: opts.approval === false }));
  common(group.command('rerun').argument('<id>', 'quarterly drill run (workflow id) whose failed drills to run again').description('run only the failed drills of a quarterly run again; the report merges both')).action(
    async (id: string, opts: Record<string, string | boolean | undefined>) => run({ ...opts, rerunOf: id, noApproval: opts.approval === false }),
  );
  group
    .command('list')
    .option('--json', 'print JSON')
    .description('drill runs with evidence in the snapshot storage, newest first')
    .action(async (opts: { json?: boolean }) => {
      const { drillListCommand } = await import('./quarterly-drill');
      exit(await drillListCommand(config(), Boolean(opts.json)));
    });
  group
    .command('report')
    .argument('<id>', 'drill run (workflow id) from `secdr drill list`')
    .option('--format <f>', 'json, md, html or junit', 'md')
    .description("print a drill run's stored report, checked against its catalogued SHA-256")
    .action(async (id: string, opts: { format: string }) => {
      const { drillReportCommand } = await import('./quarterly-drill');
      exit(await drillReportCommand(config(), id, opts.format));
    });
  group
    .command('approve')
    .argument('<id>', 'quarterly drill run waiting for approval')
    .requiredOption('--by <name>', 'who approves (recorded in the report)')
    .description('approve a quarterly drill that waits for approval')
    .action(async (id: string, opts: { by: string }) => {
      const { drillApproveCommand } = await import('./quarterly-drill');
      exit(await drillApproveCommand(config(), id, opts.by));
    });
}

function addDrill(group: Command, entry: ProcedureEntry, config: () => SecdrConfig, exit: (code: number) => void): void {
  const cmd = group.command(entry.name).description(entry.summary);
  for (const o of entry.options ?? []) cmd.option(o.flags, o.description, o.default);
  cmd
    .option('--wait', 'follow progress; exit non-zero on failure or SLO breach')
    .option('--json', 'print the report as JSON')
    .option('--junit <file>', 'write the finished run as JUnit XML (one test case per step)')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { runProcedureCommand } = await import('./run-procedure');
      exit(await runProcedureCommand(config(), entry, opts, { wait: Boolean(opts.wait), json: Boolean(opts.json), junit: opts.junit as string | undefined }));
    });
}
