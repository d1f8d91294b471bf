/**
 * `braid replay`: before rolling out changed workflow code, replay the histories of recent runs —
 * fetched from the Temporal server the CLI is configured for — against this build's workflows (or
 * the module --workflows names). A run whose history no longer replays would fail with a
 * nondeterminism error on the new workers; the command lists each such run in one line and exits 1.
 * It is the check "Safe deploys" in the README asks for, beside the committed histories the test
 * suite replays (test/replay.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Command } from 'commander';
import pc from 'picocolors';
import { oneLine, UsageError } from './errors';
import { intIn } from './options';
import { withSession } from './session';

const BRAID_WORKFLOWS = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

interface ReplayOptions {
  limit: number;
  query?: string;
  workflows?: string;
  json?: boolean;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description("replay recent runs' histories against this build's workflow code (exit 1 if any would break)")
    .option('--limit <n>', 'how many runs, newest first (1-1000)', intIn(1, 1000), 50)
    .option('--query <query>', 'which runs, as a list filter (default: every run on BRAID_TASK_QUEUE, children included)')
    .option('--workflows <module>', "replay against this workflows module instead of Braid's own (e.g. your worker's)")
    .option('--json', 'print one JSON object')
    .action(async (o: ReplayOptions) => {
      const workflowsPath = o.workflows ? path.resolve(o.workflows) : BRAID_WORKFLOWS;
      if (o.workflows && !fs.existsSync(workflowsPath)) throw new UsageError(`--workflows: ${o.workflows} does not exist`);
      const { DefaultLogger, Runtime, Worker } = await import('@temporalio/worker');
      Runtime.install({ logger: new DefaultLogger('ERROR') });
      const failures: { workflowId: string; runId?: string; error: string }[] = [];
      let replayed = 0;
      await withSession({ worker: 'none' }, async ({ client, taskQueue }) => {
        const runs: WorkflowExecutionInfo[] = [];
        for await (const wf of client.workflow.list({ query: o.query ?? `TaskQueue = "${taskQueue}"`, pageSize: Math.min(o.limit, 100) })) {
          runs.push(wf);
          if (runs.length >= o.limit) break;
        }
        async function* histories(): AsyncIterable<{ workflowId: string; history: temporal.api.history.v1.IHistory }> {
          for (const r of runs)
            yield { workflowId: r.workflowId, history: await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory() };
        }
        const replay = Worker.runReplayHistories({ workflowsPath, dataConverter: client.options.dataConverter }, histories());
        for await (const r of replay) {
          replayed++;
          if (r.error) failures.push({ workflowId: r.workflowId, error: oneLine(r.error) });
        }
      });
      if (o.json) {
        console.log(JSON.stringify({ workflows: workflowsPath, replayed, failed: failures.length, failures }));
      } else {
        for (const f of failures) console.log(`${pc.red('does not replay')} ${f.workflowId}: ${f.error}`);
        console.log(
          failures.length
            ? `${failures.length} of ${replayed} run(s) do not replay against ${workflowsPath}: guard the change with patched() or deploy it as a new Worker Deployment Version (README: Safe deploys)`
            : `${replayed} run(s) replay against ${workflowsPath}`,
        );
      }
      if (failures.length) process.exitCode = 1;
    });
}
