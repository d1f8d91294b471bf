/**
 * A worker with tracing on bundles Temporal's OpenTelemetry workflow interceptors; every committed
 * history (recorded without them) must still replay on it — turning tracing on for a worker with
 * runs in flight must not break them — and replay must export no span a second time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { BraidWorkerPlugin } from '../src/api/worker';
import { startTracing } from '../src/telemetry/tracing';
import { quietRuntime } from './helpers';

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const exported = new InMemorySpanExporter();
const plugin = new BraidWorkerPlugin({ tracing: startTracing({ spanProcessor: new SimpleSpanProcessor(exported) }), workflows: false });
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  quietRuntime();
  bundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, '..', 'src', 'workflows', 'index.ts'),
    plugins: [plugin],
    logger: new DefaultLogger('ERROR'),
  });
});

describe('replay with tracing on', () => {
  it('bundles the workflow interceptors', () => {
    expect(bundle.code).toContain('OpenTelemetryInboundInterceptor');
  });

  it.each(files)('%s replays cleanly', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle, replayName: file, plugins: [plugin] }, history, file),
    ).resolves.toBeUndefined();
    expect(exported.getFinishedSpans()).toEqual([]);
  });
});
