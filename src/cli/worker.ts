/**
 * `braid worker`, and the worker a command runs inside itself with --with-worker: the same Braid
 * worker (src/worker.ts) on the configured task queue, stopped when the command ends.
 */
import { Command } from 'commander';
import pc from 'picocolors';
import { config } from '../config';
import { connectWorker, temporalTarget, type Target } from '../temporal/connection';

export async function startEmbeddedWorker(target: Target, announce = false) {
  // Loaded here, not at the top: the worker package (and its bundler) is slow to load and most
  // commands never need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BraidWorkerLogger, createBraidWorker, metricsTelemetry } = require('../worker') as typeof import('../worker');
  const { Runtime } = await import('@temporalio/worker');
  // A standalone worker logs at INFO; one embedded in a command stays quiet unless something goes wrong.
  Runtime.install({ logger: new BraidWorkerLogger(announce ? 'INFO' : 'WARN'), telemetryOptions: metricsTelemetry(config().metricsPort) });
  const connection = await connectWorker(target);
  const w = await createBraidWorker({ connection, namespace: target.namespace }).catch(async (err: unknown) => {
    await connection.close(); // e.g. an MCP server that will not start: nothing else was started
    throw err;
  });
  const model = w.model.simulated
    ? pc.yellow(`simulated model at ${w.model.endpoint}`)
    : `${config().anthropicBaseUrl ? `the Messages API at ${w.model.endpoint}` : 'Claude'} (${config().models.fast}, ${config().models.capable})`;
  const line = `worker on task queue "${config().taskQueue}" at ${target.address}; model: ${model}`;
  process.stderr.write(`${announce ? 'braid ' : pc.dim('started a ')}${line}\n`);
  const port = config().metricsPort;
  if (port !== undefined && announce) process.stderr.write(`braid worker: Prometheus metrics on http://localhost:${port}/metrics\n`);
  const traces = config().traces;
  if (traces && announce) process.stderr.write(`braid worker: OpenTelemetry traces to ${traces.url} (${traces.protocol})\n`);
  const done = w.run().finally(() => connection.close());
  return {
    done,
    stop: async () => {
      await w.shutdown();
      await done;
    },
  };
}

export function workerCommand(): Command {
  return new Command('worker')
    .description(
      'run a worker for the Braid task queue (Ctrl-C stops it gracefully); with BRAID_METRICS_PORT it serves Prometheus metrics on that port, with OTEL_EXPORTER_OTLP_ENDPOINT it sends traces there',
    )
    .action(async () => {
      const w = await startEmbeddedWorker(temporalTarget(), true);
      await w.done;
    });
}
