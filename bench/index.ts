/**
 * `npm run bench -- <scenario> [options]`: benchmarks that start everything they need (a throwaway
 * Temporal dev server and the model simulator) and print ratios measured within one run.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { toolFanout } from './tool-fanout';

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
  return n;
};
const msList = (v: string) => {
  const xs = v.split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || x < 0)) throw new InvalidArgumentError('expected comma-separated milliseconds, e.g. 200,500,3000');
  return xs;
};

const program = new Command('bench')
  .description('Braid benchmarks')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`bench: ${str.replace(/^error: /, '')}`) });

program
  .command('tool-fanout')
  .description('six parallel tool calls (0.2–3 s) between two model turns: sequential vs Promise.all vs Braid vs ideal')
  .option('--runs <n>', 'measured rounds (median reported)', int(1), 3)
  .option('--tools <ms,...>', 'tool latencies in ms', msList, [200, 500, 900, 1400, 2000, 3000])
  .option('--model-ttft <ms>', 'simulated model time to first token', int(0), 400)
  .option('--json', 'print one JSON object')
  .action((o: { runs: number; tools: number[]; modelTtft: number; json?: boolean }) =>
    toolFanout({ runs: o.runs, toolLatenciesMs: o.tools, modelTtftMs: o.modelTtft, json: Boolean(o.json) }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
