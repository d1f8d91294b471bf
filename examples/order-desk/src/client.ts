/**
 * Starts the order desk's own workflow, then Braid's ask agent over the same tools — both run by
 * the order desk's worker — and prints both results as one JSON object.
 *
 *   node dist/client.js A-1001 A-1002 A-1009
 */
import { Client, Connection } from '@temporalio/client';
import { BraidClientPlugin, startAsk } from '@braid-agents/braid/client';
import { orderDigest } from './workflows';

const TASK_QUEUE = 'order-desk';

async function main(orderIds: string[]): Promise<void> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const client = new Client({ connection, plugins: [new BraidClientPlugin()] });
  try {
    const digest = await client.workflow.execute(orderDigest, {
      taskQueue: TASK_QUEUE,
      workflowId: `order-digest-${Date.now()}`,
      args: [{ orderIds }],
    });
    const ask = await startAsk(
      client,
      { question: `Where is order ${orderIds[0]}?`, tools: ['order_lookup', 'shipment_tracking'] },
      { taskQueue: TASK_QUEUE },
    );
    const answer = await ask.result();
    console.log(
      JSON.stringify(
        {
          digest,
          ask: {
            workflowId: ask.workflowId,
            answer: answer.answer,
            turns: answer.turns,
            tools: answer.branches.filter((b) => b.kind === 'tool').map((b) => b.name),
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2).length ? process.argv.slice(2) : ['A-1001', 'A-1002', 'A-1009']).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
