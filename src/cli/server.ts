/** `braid server start|stop|status`: the local Temporal dev server with its Web UI. */
import { Command } from 'commander';
import { config } from '../config';
import { configuredKeyRing } from '../encryption/keys';
import { devServerStatus, startDevServer, stopDevServer, type DevServerOptions } from '../temporal/dev-server';

export function devServerOptions(): DevServerOptions {
  const c = config();
  // With encryption on, the local Web UI decodes payloads through `braid codec-server` on BRAID_CODEC_PORT.
  const codecEndpoint = configuredKeyRing(c) ? `http://127.0.0.1:${c.encryption.codecPort}` : undefined;
  return { dataDir: c.dataDir, port: c.temporalPort, uiPort: c.temporalUiPort, codecEndpoint };
}

const say = (line: string) => process.stderr.write(`${line}\n`);

export function serverCommand(): Command {
  const server = new Command('server').description('run the local Temporal dev server (gRPC 7233, Web UI 8233 by default)');
  server
    .command('start')
    .description('start the dev server in the background, or reuse one already running')
    .action(async () => {
      const o = devServerOptions();
      const s = await startDevServer(o, { log: say });
      console.log(
        `${s.reused ? 'Temporal server already running' : 'started the Temporal server'} at ${s.address}${s.pid ? ` (pid ${s.pid})` : ''}`,
      );
      console.log(`Web UI: ${s.uiUrl}`);
      console.log(`data: ${s.dbFile}; log: ${s.logFile}`);
      if (o.codecEndpoint && !s.reused)
        console.log(`payloads are encrypted: the Web UI decodes them through ${o.codecEndpoint}; run \`braid codec-server\` to serve it`);
      else if (o.codecEndpoint)
        console.log(
          `payloads are encrypted: if this server's Web UI shows them as ciphertext, it was started without a codec endpoint; restart it (\`braid server stop && braid server start\`)`,
        );
    });
  server
    .command('stop')
    .description('stop the dev server Braid started')
    .action(async () => {
      const r = await stopDevServer(devServerOptions());
      if (!r.stopped) throw new Error(r.reason);
      console.log(`stopped the Temporal server (pid ${r.pid})`);
    });
  server
    .command('status')
    .description('is the dev server running?')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const s = await devServerStatus(devServerOptions());
      if (o.json) return void console.log(JSON.stringify(s));
      if (!s.running) {
        console.log(`no Temporal server at ${s.address} (start one with \`braid server start\`)`);
        process.exitCode = 3;
        return;
      }
      console.log(`Temporal server running at ${s.address}${s.pid ? ` (pid ${s.pid}, started by Braid)` : ' (not started by Braid)'}`);
      console.log(`Web UI: ${s.uiUrl}`);
    });
  return server;
}
