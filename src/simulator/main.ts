// Standalone entry (`npm run simulator`): runs the simulator as its own process so benchmarks, the
// demo and a separately started worker can share one fake model endpoint. Configuration comes from
// flags and an optional JSON file of SimulatorOptions; anything invalid exits 2 with one line.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigInvalid, parseOptions } from './config';
import { Simulator } from './server';
import type { SimulatorOptions } from './types';

const USAGE = `Usage: npm run simulator -- [--port N] [--host ADDR] [--seed N] [--config options.json] [--quiet]

Braid's Anthropic-compatible model simulator (a simulated model, not Claude).
  --port N        port to listen on (default: $BRAID_SIMULATOR_PORT or 4010; 0 = any free port)
  --host ADDR     address to bind (default 127.0.0.1; 0.0.0.0 inside a container)
  --seed N        seed for latency draws, fault rates and which answers come out wrong (default 42)
  --config FILE   JSON file holding SimulatorOptions (latency, rateLimits, faults, apiKey, models,
                  batches, promptCache, errorCorrelation, datasets, answerRules); see
                  src/simulator/types.ts
  --quiet         do not log each request
  --help          show this help`;

class UsageError extends Error {
  override name = 'UsageError';

  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

function integer(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`${flag} must be an integer, got "${value}"`, true);
  return Number(value);
}

function loadConfig(file: string): SimulatorOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseOptions(json);
  } catch (err) {
    if (err instanceof ConfigInvalid) throw new UsageError(`--config ${file}: ${err.message}`);
    throw err;
  }
}

function options(argv: string[]): SimulatorOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'string' },
        config: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), true);
  }
  if (values.help) return undefined;
  const opts: SimulatorOptions = values.config ? loadConfig(values.config) : {};
  const envPort = process.env.BRAID_SIMULATOR_PORT;
  if (values.port !== undefined) opts.port = integer('--port', values.port);
  else if (opts.port === undefined) opts.port = envPort ? integer('BRAID_SIMULATOR_PORT', envPort) : 4010;
  if (opts.port < 0 || opts.port > 65535) throw new UsageError(`port must be between 0 and 65535, got ${opts.port}`);
  if (values.host !== undefined) opts.host = values.host;
  if (values.seed !== undefined) opts.seed = integer('--seed', values.seed);
  if (values.quiet) opts.quiet = true;
  return opts;
}

async function main(): Promise<void> {
  let opts: SimulatorOptions | undefined;
  try {
    opts = options(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`simulator: ${err.message}\n${err.showUsage ? `${USAGE}\n` : ''}`);
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sim = await Simulator.start(opts);
  process.stdout.write(`Braid model simulator (simulated model — not Claude) listening on ${sim.url}\n`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
