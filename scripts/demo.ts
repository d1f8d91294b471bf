/**
 * `npm run demo`: the whole of Braid on one machine. Starts (or reuses) the local Temporal server,
 * uses Claude when ANTHROPIC_API_KEY is set and the model simulator otherwise, runs a worker in
 * this process, asks the showcase question, prints the answer with its per-branch timing table and
 * Web UI link, summarizes the bundled handbook with the map-reduce workflow, then stops the worker
 * but leaves the server up so the run can be inspected.
 */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import pc from 'picocolors';
import path from 'node:path';
import { ask, printOutcome } from '../src/cli/ask';
import { followSummarize, prepareSummarize, printSummary, startSummarize } from '../src/cli/summarize';
import { devServerOptions } from '../src/cli/server';
import { config } from '../src/config';
import { withSession, type Session } from '../src/cli/session';
import { connectWorker, temporalTarget, webUiLink } from '../src/temporal/connection';
import { startDevServer } from '../src/temporal/dev-server';
import { createBraidWorker } from '../src/worker';

export const SHOWCASE_QUESTION =
  'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?';

const SUMMARIZE_TASK = 'What must a customer know about returns, shipping and support? Cite the handbook.';

const step = (line: string) => process.stderr.write(`${pc.cyan('▸')} ${line}\n`);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const target = temporalTarget();
  if (target.local) {
    step(`starting the Temporal dev server (or reusing one) on ${target.address}…`);
    const s = await startDevServer(devServerOptions(), { log: step });
    step(`${s.reused ? 'reusing the Temporal server' : 'started the Temporal server'} at ${s.address}; Web UI ${s.uiUrl}`);
  } else {
    step(`using the Temporal server at ${target.address} (namespace ${target.namespace})`);
  }
  const native = await connectWorker(target);
  const worker = await createBraidWorker({ connection: native, namespace: target.namespace });
  step(
    worker.model.simulated
      ? `model: ${pc.yellow('simulated model')} at ${worker.model.endpoint} — no ANTHROPIC_API_KEY is set, so Braid's offline simulator answers instead of Claude`
      : `model: Claude (${config().models.capable}) via the Anthropic API`,
  );
  step(`worker on task queue "${config().taskQueue}" with tools: ${worker.registry.names().join(', ')}`);
  const running = worker.run();
  try {
    await withSession({ worker: 'none' }, (s) => showcase(s));
  } finally {
    await worker.shutdown();
    await running;
    await native.close();
  }
  if (target.local) {
    console.log(`\nThe Temporal server is still running, so you can open the run above in the Web UI.`);
    console.log(`Stop it with: ${pc.bold('npm run server:stop')}   (or ./bin/braid server stop)`);
  }
}

async function showcase(s: Session): Promise<void> {
  step(`braid ask "${SHOWCASE_QUESTION}"`);
  const outcome = await ask(s, { question: SHOWCASE_QUESTION });
  printOutcome(outcome, false);

  step(`braid summarize data/docs --task "${SUMMARIZE_TASK}"`);
  const prepared = await prepareSummarize([path.join(__dirname, '..', 'data', 'docs')], {
    task: SUMMARIZE_TASK,
    concurrency: 16,
    group: 4,
    tolerate: 0,
    chunkTokens: 300,
  });
  const { handle, how } = await startSummarize(s, prepared);
  if (how === 'finished')
    step('this exact job ran before, so Braid returns its result instead of redoing the work (add --fresh to the CLI to start over)');
  const summary = await followSummarize(handle, s.target, false);
  printSummary(handle.workflowId, summary, false, webUiLink(handle.workflowId, undefined, s.target));
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  process.exit(1);
});
