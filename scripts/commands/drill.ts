import type { Command } from 'commander';
import type { SecdrConfig } from '../../lib/config/schema';
import { drills, type ProcedureEntry } from '../../procedures';

/**
 * `secdr drill <name>`: one subcommand per registered drill (procedures/), each with its own
 * options plus --wait, --json and --junit FILE. Exit code: 0 passed with every SLO met, 1
 * failed or breached, 2 bad input. This is how CI runs drills against staging.
 */
export function addDrillCommands(program: Command, config: () => SecdrConfig, exit: (code: number) => void): Command {
  const drill = program.command('drill').description('run a DR drill (log-failover, ca-outage, alerting, quarterly, …)');
  for (const entry of drills()) addDrill(drill, entry, config, exit);
  return drill;
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
