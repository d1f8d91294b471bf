/**
 * Connecting to Temporal the way Temporal's own tools do: `@temporalio/envconfig` reads
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings and config-file profiles
 * (TEMPORAL_PROFILE), so pointing Braid at a cluster or Temporal Cloud needs no Braid setting.
 * Without any of them Braid talks to its local dev server on BRAID_TEMPORAL_PORT.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';
import { config } from '../config';
import { BraidClientPlugin } from '../api/client';
import { configuredKeyRing } from '../encryption/keys';

export interface Target {
  address: string;
  namespace: string;
  /** True when Braid is using its own local dev server (no TEMPORAL_ADDRESS or profile address). */
  local: boolean;
  tls: boolean;
  apiKey?: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
}

export function temporalTarget(): Target {
  const loaded = loadClientConnectConfig();
  const explicit = loaded.connectionOptions.address;
  const address = explicit ?? `127.0.0.1:${config().temporalPort}`;
  return {
    address,
    namespace: loaded.namespace ?? 'default',
    local: explicit === undefined,
    tls: Boolean(loaded.connectionOptions.tls),
    apiKey: typeof loaded.connectionOptions.apiKey === 'string' ? loaded.connectionOptions.apiKey : undefined,
    connectionOptions: { ...loaded.connectionOptions, address },
  };
}

class TemporalUnreachable extends Error {
  override name = 'TemporalUnreachable';
}

function unreachable(target: Target, err: unknown): TemporalUnreachable {
  const hint = target.local ? 'start it with `braid server start`' : 'check TEMPORAL_ADDRESS and your TLS/API key settings';
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new TemporalUnreachable(`cannot reach the Temporal server at ${target.address} (${reason}); ${hint}`);
}

/**
 * A client of Braid's settings: with a key configured (BRAID_ENCRYPTION_KEY or
 * BRAID_ENCRYPTION_KEYS_FILE) it encrypts every payload it sends and decrypts what it reads.
 */
export async function connectClient(target = temporalTarget()): Promise<Client> {
  // The plugin encrypts with the configured keys (a bad key fails here, before connecting) and adds
  // OpenTelemetry's client spans when OTEL_EXPORTER_OTLP_ENDPOINT is set (a bad OTEL setting fails here, as itself).
  const plugin = new BraidClientPlugin({ encryption: configuredKeyRing(config()) });
  try {
    const connection = await Connection.connect({ ...target.connectionOptions, connectTimeout: 5000 });
    return new Client({ connection, namespace: target.namespace, plugins: [plugin] });
  } catch (err) {
    throw unreachable(target, err);
  }
}

export async function connectWorker(target = temporalTarget()): Promise<NativeConnection> {
  try {
    const { NativeConnection } = await import('@temporalio/worker'); // heavy; only workers need it
    return await NativeConnection.connect(target.connectionOptions);
  } catch (err) {
    throw unreachable(target, err);
  }
}

/**
 * Link to a run in the Web UI: the local UI, BRAID_WEB_UI_URL, or Temporal Cloud's UI. The UI's
 * routes are `/namespaces/<ns>/workflows/<id>` (it looks up the latest run and goes there) and
 * `/namespaces/<ns>/workflows/<id>/<runId>/history`: the segment after the workflow id is always a
 * run id, so a link without one ends at the workflow id.
 */
export function webUiLink(workflowId: string, runId: string | undefined, target = temporalTarget()): string | undefined {
  const base =
    config().webUiUrl?.replace(/\/$/, '') ??
    (target.local
      ? `http://localhost:${config().temporalUiPort}`
      : target.address.endsWith('.tmprl.cloud:7233')
        ? 'https://cloud.temporal.io'
        : undefined);
  if (!base) return undefined;
  const run = runId ? `/${encodeURIComponent(runId)}/history` : '';
  return `${base}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}${run}`;
}
