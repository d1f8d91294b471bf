/**
 * `braid codec-server`: decrypts payloads for the Temporal Web UI and the `temporal` CLI with the
 * configured keys (src/encryption/codec-server.ts says who may ask). Runs until Ctrl-C.
 */
import { Command, Option } from 'commander';
import { config } from '../config';
import { EncryptionCodec } from '../encryption/codec';
import { normalizeOrigin, startCodecServer } from '../encryption/codec-server';
import { configuredKeyRing } from '../encryption/keys';
import { UsageError } from './errors';
import { intIn } from './options';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The Web UI origins of the local dev server: the page may be opened as localhost or 127.0.0.1. */
export const localUiOrigins = (uiPort: number) => [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`];

export function codecServerCommand(): Command {
  return new Command('codec-server')
    .description(
      'serve /encode and /decode for the Temporal Web UI and the `temporal` CLI (--codec-endpoint) with the configured encryption keys',
    )
    .addOption(new Option('--port <n>', 'port to listen on (default BRAID_CODEC_PORT, 8234)').argParser(intIn(1, 65535)))
    .option(
      '--ui-origin <url>',
      'a Web UI origin whose pages may call it, e.g. https://temporal.example.com (repeatable; default: the local UI, http://localhost:<BRAID_TEMPORAL_UI_PORT>)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--host <ip>', 'address to bind (default 127.0.0.1; another needs a token)', '127.0.0.1')
    .option('--token <token>', 'require `Authorization: Bearer <token>` of every caller (default BRAID_CODEC_TOKEN)')
    .action(async (o: { port?: number; uiOrigin?: string[]; host: string; token?: string }) => {
      const cfg = config();
      const ring = configuredKeyRing(cfg);
      if (!ring) throw new UsageError('no encryption key is configured: set BRAID_ENCRYPTION_KEY or BRAID_ENCRYPTION_KEYS_FILE');
      const token = o.token ?? cfg.encryption.codecToken;
      if (token !== undefined && token.length < 16) throw new UsageError('--token must be at least 16 characters');
      if (!LOOPBACK.has(o.host) && !token)
        throw new UsageError(
          `--host ${o.host} is not loopback: anyone who can reach it could decrypt; give a --token (or BRAID_CODEC_TOKEN)`,
        );
      const origins = (o.uiOrigin ?? localUiOrigins(cfg.temporalUiPort)).map((x) => {
        const origin = normalizeOrigin(x);
        if (!origin) throw new UsageError(`--ui-origin ${x} is not an origin: expected scheme://host[:port], e.g. http://localhost:8233`);
        return origin;
      });
      const server = await startCodecServer({
        codec: new EncryptionCodec(ring),
        port: o.port ?? cfg.encryption.codecPort,
        host: o.host,
        uiOrigins: origins,
        token,
        onRefused: (line) => process.stderr.write(`braid codec-server: ${line}\n`),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') throw new Error(`port ${o.port ?? cfg.encryption.codecPort} is in use; pick another with --port`);
        throw err;
      });
      console.log(
        `braid codec-server on ${server.url} for ${origins.join(', ')}${token ? '; token required' : ''}; keys: ${ring.keys.map((k) => k.id).join(', ')} (Ctrl-C stops it)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}
