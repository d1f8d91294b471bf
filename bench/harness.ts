/**
 * What every benchmark starts: a throwaway in-memory Temporal dev server on free ports (quiet, so
 * `--json` output stays clean), a client and a worker connection to it, and one teardown for all.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import type { ModelClient } from '../src/model-client';
import { readConfig, type BraidConfig } from '../src/config';
import { Simulator, type SimulatorOptions } from '../src/simulator';
import { startEphemeralServer } from '../src/temporal/dev-server';
import { ToolRegistry } from '../src/tools';
import { createBraidWorker } from '../src/worker';

export interface BenchTemporal {
  client: Client;
  native: NativeConnection;
  close(): Promise<void>;
}

export async function benchTemporal(log: (line: string) => void, level: LogLevel = 'WARN'): Promise<BenchTemporal> {
  // Core's own log lines go through the same logger (stderr) at the same level, never onto stdout, where `--json` prints.
  Runtime.install({
    logger: new DefaultLogger(level),
    telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
  });
  const server = await startEphemeralServer({ log });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  return {
    client: new Client({ connection }),
    native,
    async close() {
      await connection.close();
      await native.close();
      await server.close();
    },
  };
}

/** A model client pointed at a simulator, as a worker without ANTHROPIC_API_KEY builds it. */
export function simulatedModel(sim: Simulator): ModelClient {
  return {
    claude: new Anthropic({ apiKey: 'braid-simulator', baseURL: sim.url, maxRetries: 0 }),
    simulated: true,
    endpoint: sim.url,
    close: async () => {},
  };
}

export interface SimulatedBench {
  temporal: BenchTemporal;
  sim: Simulator;
  cfg: BraidConfig;
  /** Stops the worker, the server and the simulator. */
  close(): Promise<void>;
}

/** A simulator, a throwaway server and a running Braid worker (no tools) on `taskQueue`, the simulator its model. */
export async function simulatedBench(o: {
  log: (line: string) => void;
  taskQueue: string;
  level?: LogLevel;
  simulator?: SimulatorOptions;
}): Promise<SimulatedBench> {
  const sim = await Simulator.start({ quiet: true, ...o.simulator });
  const temporal = await benchTemporal(o.log, o.level);
  const cfg = readConfig({ BRAID_TASK_QUEUE: o.taskQueue });
  const worker = await createBraidWorker({ connection: temporal.native, cfg, registry: new ToolRegistry(), model: simulatedModel(sim) });
  const running = worker.run();
  return {
    temporal,
    sim,
    cfg,
    async close() {
      await worker.shutdown();
      await running;
      await temporal.close();
      await sim.close();
    },
  };
}
