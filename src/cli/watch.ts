/** `braid watch <workflowId>`: attach to a running summarize or ask run and show its progress to the end (Ctrl-C detaches). */
import { Command } from 'commander';
import { ASK_WORKFLOW } from '../shared/ask';
import { SUMMARIZE_WORKFLOW } from '../shared/summarize';
import { webUiLink } from '../temporal/connection';
import type { summarizeCorpus, toolAgent } from '../workflows';
import { followAgent, printOutcome } from './ask';
import { UsageError } from './errors';
import { describeRun, withSession } from './session';
import { followSummarize, printSummary } from './summarize';

export function watchCommand(): Command {
  return new Command('watch')
    .description('attach to a running job and show its progress (Ctrl-C detaches, the job goes on)')
    .argument('<workflowId>')
    .option('--json', 'print the result as one JSON object')
    .action((workflowId: string, o: { json?: boolean }) =>
      withSession({ worker: 'none' }, async ({ client, target }) => {
        const json = Boolean(o.json);
        const { type, taskQueue } = await describeRun(client, workflowId);
        if (type === SUMMARIZE_WORKFLOW) {
          const result = await followSummarize(client.workflow.getHandle<typeof summarizeCorpus>(workflowId), target, json, taskQueue);
          printSummary(workflowId, result, json, webUiLink(workflowId, undefined, target));
        } else if (type === ASK_WORKFLOW) {
          printOutcome(await followAgent(client.workflow.getHandle<typeof toolAgent>(workflowId), target, json, taskQueue), json);
        } else {
          throw new UsageError(`${workflowId} is a ${type} run; braid watch follows summarize and ask runs`);
        }
      }),
    );
}
