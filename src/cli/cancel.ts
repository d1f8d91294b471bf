/** `braid cancel <workflowId>`: cancel a running job cleanly — its children and activities are cancelled too. */
import { Command } from 'commander';
import { describeRun, withSession } from './session';

export function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel a running job cleanly (its children and activities are cancelled too)')
    .argument('<workflowId>')
    .action((workflowId: string) =>
      withSession({ worker: 'none' }, async ({ client }) => {
        const before = await describeRun(client, workflowId);
        if (before.status.name !== 'RUNNING') throw new Error(`${workflowId} is not running (${before.status.name})`);
        const handle = client.workflow.getHandle(workflowId);
        await handle.cancel();
        const deadline = Date.now() + 30_000;
        let status: string = before.status.name;
        while (status === 'RUNNING' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          status = (await handle.describe()).status.name;
        }
        if (status === 'RUNNING') throw new Error(`asked ${workflowId} to cancel; it is still running after 30 s (is a worker up?)`);
        console.log(`${workflowId}: ${status.toLowerCase()}`);
      }),
    );
}
