/**
 * What every benchmark starts: a throwaway in-memory Temporal dev server on free ports (quiet, so
 * `--json` output stays clean), a client and a worker connection to it, and one teardown for all.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { startEphemeralServer } from '../src/temporal/dev-server';

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
