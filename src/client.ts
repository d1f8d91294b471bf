/**
 * The `braid` CLI. Every command is a factory in src/cli/<command>.ts; this file only registers
 * them and maps every failure to one line on stderr and an exit code: 2 for input the user can fix,
 * 1 for everything else, never a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { actorCommand } from './cli/actor';
import { approveCommand } from './cli/approve';
import { askCommand } from './cli/ask';
import { cancelCommand } from './cli/cancel';
import { codecServerCommand } from './cli/codec-server';
import { ensembleCommand } from './cli/ensemble';
import { exitCodeFor, oneLine } from './cli/errors';
import { gcCommand } from './cli/gc';
import { replayCommand } from './cli/replay';
import { healthCommand } from './cli/health';
import { topCommand } from './cli/top';
import { pendingCommand } from './cli/pending';
import { pipelineCommand } from './cli/pipeline';
import { publishCommand } from './cli/publish';
import { rejectCommand } from './cli/reject';
import { reportCommand } from './cli/report';
import { runsCommand } from './cli/runs';
import { searchCommand } from './cli/search';
import { serverCommand } from './cli/server';
import { summarizeCommand } from './cli/summarize';
import { toolsCommand } from './cli/tools';
import { watchCommand } from './cli/watch';
import { workerCommand } from './cli/worker';

const program = new Command('braid')
  .description('Durable, parallel LLM agents on Temporal')
  .version('0.1.0')
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(`braid: ${str.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)/, ' (did you mean $1)')}`),
  });

/** Gives a command, and its subcommands, the CLI's error handling and output. */
function adopt(command: Command, parent: Command): Command {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) adopt(sub, command);
  return command;
}

const commands = [
  askCommand,
  summarizeCommand,
  watchCommand,
  cancelCommand,
  runsCommand,
  reportCommand,
  serverCommand,
  codecServerCommand,
  pipelineCommand,
  ensembleCommand,
  actorCommand,
  searchCommand,
  healthCommand,
  topCommand,
  publishCommand,
  pendingCommand,
  approveCommand,
  rejectCommand,
  workerCommand,
  toolsCommand,
  gcCommand,
  replayCommand,
];
for (const make of commands) program.addCommand(adopt(make(), program));

program.addOption(new Option('--no-color', 'disable colours').hideHelp());

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`braid: ${oneLine(err)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

if (require.main === module) void main(process.argv);

export { main, program };
