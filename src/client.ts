/**
 * The `braid` CLI. Commands live in src/cli/; this file only declares them and maps every
 * failure to one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { config } from './config';
import { ask, followAgent, printOutcome } from './cli/ask';
import { followSummarize, prepareSummarize, printSummary, startSummarize, type SummarizeOptions } from './cli/summarize';
import { ASK_WORKFLOW } from './shared/ask';
import { SUMMARIZE_WORKFLOW } from './shared/summarize';
import type { summarizeCorpus, toolAgent } from './workflows';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { startEmbeddedWorker, withClient } from './cli/embedded-worker';
import { exitCodeFor, oneLine, UsageError } from './cli/errors';
import { listRuns } from './cli/runs';
import { approveCommand, pendingCommand, publishCommand, rejectCommand } from './cli/publish';
import { serverCommand } from './cli/server';
import { pipelineCommand } from './cli/pipeline';
import { healthCommand } from './cli/health';
import { connectClient, temporalTarget, webUiLink } from './temporal/connection';
import { createDefaultRegistry } from './tools';

function intIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function percentage(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('expected a percentage from 0 to 100');
  return n;
}

/** The run's workflow type, or a one-line error when there is no such run. */
async function workflowType(client: Client, workflowId: string): Promise<string> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).type;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no run with id ${workflowId}`);
    throw err;
  }
}

const program = new Command('braid')
  .description('Durable, parallel LLM agents on Temporal')
  .version('0.1.0')
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(`braid: ${str.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\)/, ' (did you mean $1)')}`),
  });

program
  .command('ask')
  .description('ask the tool-calling agent a question; its tool calls run in parallel')
  .argument('<question...>', 'the question (quote it)')
  .option('--json', 'print one JSON object with the answer, branches, timings and usage')
  .option('--max-turns <n>', 'model turns before the agent must stop (1-50)', intIn(1, 50), 6)
  .option('--tools <names>', 'comma-separated tools to offer (default: all)', (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .option('--fast', 'use the fast model role instead of the capable one')
  .option('--id <workflowId>', 'workflow id for the run (default: generated)')
  .option('--with-worker', 'run a worker inside this command (otherwise a `braid worker` must be running)')
  .action(
    async (
      words: string[],
      o: { json?: boolean; maxTurns: number; tools?: string[]; fast?: boolean; id?: string; withWorker?: boolean },
    ) => {
      const question = words.join(' ').trim();
      if (!question) throw new UsageError('the question is empty: braid ask "<question>"');
      await withClient(o.withWorker, async (client, target) => {
        const outcome = await ask(client, target, {
          question,
          maxTurns: o.maxTurns,
          tools: o.tools,
          role: o.fast ? 'fast' : 'capable',
          json: o.json,
          workflowId: o.id,
        });
        printOutcome(outcome, Boolean(o.json));
      });
    },
  );

program
  .command('summarize')
  .description('map-reduce over documents: chunks analysed in parallel, results reduced in a tree')
  .argument('<inputs...>', 'files, directories or globs (.txt .md .html .json .pdf)')
  .requiredOption('--task <instruction>', 'what to do with the documents')
  .option('--concurrency <n>', 'model calls in flight across the job (1-10000)', intIn(1, 10_000), 32)
  .option('--group <n>', 'results combined per reduce call (2-100)', intIn(2, 100), 10)
  .option('--tolerate <percent>', 'failed chunks tolerated, in percent (0-100)', percentage, 0)
  .option('--chunk-tokens <n>', 'token budget per chunk (100-8000)', intIn(100, 8000), 800)
  .option('--fresh', 'start a new run even if this exact job ran before')
  .option('--json', 'print one JSON object with the answer, citations and what is missing')
  .option('--with-worker', 'run a worker inside this command (otherwise a `braid worker` must be running)')
  .action(async (inputs: string[], o: SummarizeOptions & { withWorker?: boolean }) => {
    const prepared = await prepareSummarize(inputs, o, Boolean(o.json));
    await withClient(o.withWorker, async (client, target) => {
      const { handle, how } = await startSummarize(client, prepared, o.fresh);
      if (!o.json && how !== 'new')
        process.stderr.write(
          pc.dim(
            how === 'attached'
              ? 'this exact job is already running: attaching to it (--fresh starts over)\n'
              : 'this exact job ran before: returning its result (--fresh starts over)\n',
          ),
        );
      const result = await followSummarize(handle, target, Boolean(o.json));
      printSummary(handle.workflowId, result, Boolean(o.json), webUiLink(handle.workflowId, undefined, target));
    });
  });

program
  .command('watch')
  .description('attach to a running job and show its progress (Ctrl-C detaches, the job goes on)')
  .argument('<workflowId>')
  .option('--json', 'print the result as one JSON object')
  .action(async (workflowId: string, o: { json?: boolean }) => {
    const target = temporalTarget();
    const client = await connectClient(target);
    try {
      const type = await workflowType(client, workflowId);
      if (type === SUMMARIZE_WORKFLOW) {
        const handle = client.workflow.getHandle<typeof summarizeCorpus>(workflowId);
        printSummary(
          workflowId,
          await followSummarize(handle, target, Boolean(o.json)),
          Boolean(o.json),
          webUiLink(workflowId, undefined, target),
        );
      } else if (type === ASK_WORKFLOW) {
        printOutcome(await followAgent(client.workflow.getHandle<typeof toolAgent>(workflowId), target, Boolean(o.json)), Boolean(o.json));
      } else {
        throw new UsageError(`${workflowId} is a ${type} run; braid watch follows summarize and ask runs`);
      }
    } finally {
      await client.connection.close();
    }
  });

program
  .command('cancel')
  .description('cancel a running job cleanly (its children and activities are cancelled too)')
  .argument('<workflowId>')
  .action(async (workflowId: string) => {
    const client = await connectClient();
    try {
      await workflowType(client, workflowId);
      const handle = client.workflow.getHandle(workflowId);
      const before = await handle.describe();
      if (before.status.name !== 'RUNNING') throw new Error(`${workflowId} is not running (${before.status.name})`);
      await handle.cancel();
      const deadline = Date.now() + 30_000;
      let status: string = before.status.name;
      while (status === 'RUNNING' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        status = (await handle.describe()).status.name;
      }
      if (status === 'RUNNING') throw new Error(`asked ${workflowId} to cancel; it is still running after 30 s (is a worker up?)`);
      console.log(`${workflowId}: ${status.toLowerCase()}`);
    } finally {
      await client.connection.close();
    }
  });

program
  .command('runs')
  .description('list recent runs')
  .option('--limit <n>', 'how many (1-500)', intIn(1, 500), 20)
  .option('--json', 'print JSON lines')
  .action(async (o: { limit: number; json?: boolean }) => {
    const client = await connectClient();
    try {
      await listRuns(client, o);
    } finally {
      await client.connection.close();
    }
  });

program.addCommand(serverCommand(program));
program.addCommand(pipelineCommand().copyInheritedSettings(program));
program.addCommand(healthCommand().copyInheritedSettings(program));
program.addCommand(publishCommand().copyInheritedSettings(program));
program.addCommand(pendingCommand().copyInheritedSettings(program));
program.addCommand(approveCommand().copyInheritedSettings(program));
program.addCommand(rejectCommand().copyInheritedSettings(program));

program
  .command('worker')
  .description('run a worker for the Braid task queue (Ctrl-C stops it gracefully)')
  .action(async () => {
    const target = temporalTarget();
    const w = await startEmbeddedWorker(target, true);
    await w.done;
  });

program
  .command('tools')
  .description('list the tools the agent can call')
  .option('--json', 'print the tool specs the model sees')
  .action(async (o: { json?: boolean }) => {
    const registry = createDefaultRegistry({ filesDir: config().filesDir });
    if (o.json) return void console.log(JSON.stringify(registry.specs(), null, 2));
    for (const name of registry.names())
      console.log(`${pc.bold(name)}  ${pc.dim(`${registry.timeoutMs(name)} ms`)}\n  ${registry.get(name)!.description}`);
  });

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
