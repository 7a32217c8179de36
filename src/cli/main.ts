import { Command, CommanderError } from 'commander';
import { VERSION } from '../app/index.ts';
import { describeError, isRiposteError } from '../core/index.ts';
import { registerActions } from './commands/actions.ts';
import { registerAudit } from './commands/audit.ts';
import { registerBackup } from './commands/backup.ts';
import { registerDb } from './commands/db.ts';
import { registerDemo } from './commands/demo.ts';
import { registerEdl } from './commands/edl.ts';
import { registerHunt } from './commands/hunt.ts';
import { registerIntegrations } from './commands/integrations.ts';
import { registerLab } from './commands/lab.ts';
import { registerLlm } from './commands/llm.ts';
import { registerPhish } from './commands/phish.ts';
import { registerPlaybook } from './commands/playbook.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerRun } from './commands/run.ts';
import { registerRuns } from './commands/runs.ts';
import { registerServe } from './commands/serve.ts';
import { registerSigma } from './commands/sigma.ts';
import { registerStix } from './commands/stix.ts';
import { registerTaxii } from './commands/taxii.ts';
import { registerTokens } from './commands/tokens.ts';
import { registerUsers } from './commands/users.ts';
import { registerWorker } from './commands/worker.ts';
import { addHelpExamples } from './help-examples.ts';
import { cliStreams, createOutput } from './output.ts';

/** Exit codes: 0 ok, 1 the command failed, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('riposte')
    .description('Riposte: open-source SOAR — durable, auditable playbooks with humans in the loop')
    .option('-c, --config <file>', 'config file (default ./riposte.yaml if present; env RIPOSTE_CONFIG)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cliStreams().stdout.write(text),
      writeErr: (text) => cliStreams().stderr.write(text),
      // One line per error: Commander's "(Did you mean …?)" hint joins the message instead of a second line.
      outputError: (text, write) =>
        write(
          `riposte: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\n\(Did you mean/g, ' (did you mean')}\n`,
        ),
    });

  program
    .command('version')
    .description('print the version')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) => {
      createOutput(Boolean(options.json)).data({ version: VERSION, node: process.versions.node }, () => `riposte ${VERSION} (node ${process.versions.node})`);
    });
  registerServe(program);
  registerWorker(program);
  registerDemo(program);
  registerDb(program);
  registerRun(program);
  registerRuns(program);
  registerPlaybook(program);
  registerAudit(program);
  registerUsers(program);
  registerTokens(program);
  registerPolicy(program);
  registerStix(program);
  registerTaxii(program);
  registerIntegrations(program);
  registerLab(program);
  registerBackup(program);
  registerActions(program);
  registerPhish(program);
  registerSigma(program);
  registerEdl(program);
  registerHunt(program);
  registerLlm(program);
  addHelpExamples(program);

  // Every subcommand rejects unknown flags and extra arguments, and exits 2 rather than calling process.exit.
  const harden = (command: Command) => {
    command.exitOverride().allowExcessArguments(false);
    for (const sub of command.commands) harden(sub);
  };
  harden(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv);
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK;
      // Commander already printed its one-line message.
      return EXIT_USAGE;
    }
    if (isRiposteError(error)) {
      cliStreams().stderr.write(`riposte: ${error.message} [${error.code}]\n`);
      if (process.env.RIPOSTE_DEBUG) cliStreams().stderr.write(`${error.stack}\n`);
      return error.code === 'cli.usage' ? EXIT_USAGE : EXIT_FAILURE;
    }
    cliStreams().stderr.write(`riposte: unexpected error: ${describeError(error)} (set RIPOSTE_DEBUG=1 to see where)\n`);
    if (process.env.RIPOSTE_DEBUG) cliStreams().stderr.write(`${(error as Error).stack}\n`);
    return EXIT_FAILURE;
  }
}
