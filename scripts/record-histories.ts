/**
 * Records the workflow histories that the replay tests run (test/histories/*.json): each scenario
 * runs for real on a throwaway dev server with the simulator, and its history is saved as JSON.
 * Re-record only on purpose — after a deliberate, patched() change of workflow code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { readConfig } from '../src/config';
import { AGENT_WORKFLOW, type AgentInput } from '../src/shared/agent';
import { Simulator } from '../src/simulator';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { createDefaultRegistry, defineTool } from '../src/tools';
import { createBraidWorker } from '../src/worker';
import Anthropic from '@anthropic-ai/sdk';

const scenarios: Record<string, AgentInput> = {
  'tool-agent-showcase': {
    question: 'What were total sales by region in 2025, what does the handbook say about refunds for damaged items, what is 26.2 miles in kilometres, and what is in notes/q3-plan.md?',
  },
  'tool-agent-partial-failure': { question: '#sim tools=calculator,flaky_lookup\nWhat is 2+2, and look it up.' },
};

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: await resolveTemporalCli() }, ip: '127.0.0.1' } });
  const sim = await Simulator.start({ quiet: true, latency: { ttftMs: 20, perTokenMs: 0 } });
  const registry = createDefaultRegistry().register(
    defineTool({ name: 'flaky_lookup', description: 'Always fails (for recording a failure path).', input: z.object({}).passthrough(), handler: async () => { throw new Error('lookup service unavailable'); } }),
  );
  const w = await createBraidWorker({
    connection: env.nativeConnection,
    cfg: readConfig({ BRAID_TASK_QUEUE: 'record' }),
    registry,
    model: { claude: new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 }), simulated: true, endpoint: sim.url, close: async () => {} },
  });
  const client: Client = env.client;
  const dir = path.join(__dirname, '..', 'test', 'histories');
  fs.mkdirSync(dir, { recursive: true });
  await w.worker.runUntil(async () => {
    for (const [name, input] of Object.entries(scenarios)) {
      const handle = await client.workflow.start(AGENT_WORKFLOW, { taskQueue: 'record', workflowId: name, args: [input] });
      await handle.result();
      fs.writeFileSync(path.join(dir, `${name}.json`), `${historyToJSON(await handle.fetchHistory())}\n`);
      console.log(`recorded ${name}`);
    }
  });
  await sim.close();
  await env.teardown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
