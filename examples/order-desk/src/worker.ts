/**
 * The order desk's worker: its own workflows and, through one plugin, Braid's activities (model
 * calls, tools) and workflows. The model is Claude with ANTHROPIC_API_KEY, or Braid's simulator at
 * BRAID_SIMULATOR_URL. Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { BraidWorkerPlugin } from '@braid-agents/braid/worker';
import { orderTools } from './tools';

export const TASK_QUEUE = 'order-desk';

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const braid = new BraidWorkerPlugin({ tools: orderTools() });
  const worker = await Worker.create({
    connection,
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    plugins: [braid],
  });
  console.log(`order-desk worker: polling "${TASK_QUEUE}"; model at ${braid.model.endpoint}`);
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
