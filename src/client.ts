/**
 * The `braid` CLI. Commands live in src/cli/; this file only declares them and maps every
 * failure to one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { config } from './config';
import { ask, printOutcome, workerPollers } from './cli/ask';
import { exitCodeFor, oneLine, UsageError } from './cli/errors';
import { listRuns } from './cli/runs';
import { serverCommand } from './cli/server';
import { connectClient, connectWorker, temporalTarget } from './temporal/connection';
import { createDefaultRegistry } from './tools';

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return n;
  };
}

const program = new Command('braid')
  .description('Durable, parallel LLM agents on Temporal')
  .version('0.1.0')
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`braid: ${str.replace(/^error: /, '')}`) });

program
  .command('ask')
  .description('ask the tool-calling agent a question; its tool calls run in parallel')
  .argument('<question...>', 'the question (quote it)')
  .option('--json', 'print one JSON object with the answer, branches, timings and usage')
  .option('--max-turns <n>', 'model turns before the agent must stop (1-50)', positiveInt(50), 6)
  .option('--tools <names>', 'comma-separated tools to offer (default: all)', (v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .option('--fast', 'use the fast model role instead of the capable one')
  .option('--id <workflowId>', 'workflow id for the run (default: generated)')
  .option('--with-worker', 'run a worker inside this command (otherwise a `braid worker` must be running)')
  .action(async (words: string[], o: { json?: boolean; maxTurns: number; tools?: string[]; fast?: boolean; id?: string; withWorker?: boolean }) => {
    const question = words.join(' ').trim();
    if (!question) throw new UsageError('the question is empty: braid ask "<question>"');
    const target = temporalTarget();
    const client = await connectClient(target);
    let embedded: Awaited<ReturnType<typeof startEmbeddedWorker>> | undefined;
    try {
      if (o.withWorker) embedded = await startEmbeddedWorker(target);
      else if ((await workerPollers(client, config().taskQueue)) === 0) {
        throw new Error(`no worker is polling task queue "${config().taskQueue}" on ${target.address}; start one with \`braid worker\`, or add --with-worker`);
      }
      const outcome = await ask(client, target, { question, maxTurns: o.maxTurns, tools: o.tools, role: o.fast ? 'fast' : 'capable', json: o.json, workflowId: o.id });
      printOutcome(outcome, Boolean(o.json));
    } finally {
      await embedded?.stop();
      await client.connection.close();
    }
  });

program
  .command('runs')
  .description('list recent runs')
  .option('--limit <n>', 'how many (1-500)', positiveInt(500), 20)
  .option('--json', 'print JSON lines')
  .action(async (o: { limit: number; json?: boolean }) => {
    const client = await connectClient();
    try {
      await listRuns(client, o);
    } finally {
      await client.connection.close();
    }
  });

program.addCommand(serverCommand());

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
    for (const name of registry.names()) console.log(`${pc.bold(name)}  ${pc.dim(`${registry.timeoutMs(name)} ms`)}\n  ${registry.get(name)!.description}`);
  });

program.addOption(new Option('--no-color', 'disable colours').hideHelp());

async function startEmbeddedWorker(target: ReturnType<typeof temporalTarget>, announce = false) {
  // Loaded here, not at the top: the worker package (and its bundler) is slow to load and most
  // commands never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createBraidWorker } = require('./worker') as typeof import('./worker');
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  // A standalone worker logs at INFO; one embedded in `ask` stays quiet unless something goes wrong.
  Runtime.install({ logger: new DefaultLogger(announce ? 'INFO' : 'WARN') });
  const connection = await connectWorker(target);
  const w = await createBraidWorker({ connection, namespace: target.namespace });
  const model = w.model.simulated ? pc.yellow(`simulated model at ${w.model.endpoint}`) : `Claude (${config().models.fast}, ${config().models.capable})`;
  const line = `worker on task queue "${config().taskQueue}" at ${target.address}; model: ${model}`;
  process.stderr.write(`${announce ? 'braid ' : pc.dim('started a ')}${line}\n`);
  const done = w.run().finally(() => connection.close());
  return { done, stop: async () => { await w.shutdown(); await done; } };
}

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
