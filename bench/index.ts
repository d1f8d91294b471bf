/**
 * `npm run bench -- <scenario> [options]`: benchmarks that start everything they need (a throwaway
 * Temporal dev server and the model simulator) and print ratios measured within one run.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { intAtLeast } from '../src/cli/options';
import { readConfig } from '../src/config';
import { summarizeBench } from './summarize';
import { toolFanout } from './tool-fanout';
import { pipelineBench } from './pipeline';
import { rateLimitBench } from './rate-limit';
import { ensembleBench } from './ensemble';
import { searchBench } from './search';
import { actorsBench } from './actors';
import { DEFAULT_MEMBERS } from '../src/shared/ensemble';
import { list } from '../src/cli/options';
import { ceilingBench, overheadBench } from './overhead';
import { fanoutWideBench } from './fanout-wide';
import { speculateBench } from './speculate';
import { earlyDispatchBench } from './early-dispatch';
import { VALIDATORS, type StrategySpec, type ValidatorName } from '../src/shared/speculate';
import { parseStrategies } from '../src/cli/speculate';

const msList = (v: string) => {
  const xs = v.split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || x < 0))
    throw new InvalidArgumentError('expected comma-separated milliseconds, e.g. 200,500,3000');
  return xs;
};

const jitter = (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 2) throw new InvalidArgumentError('expected a spread from 0 to 2, e.g. 0.3');
  return x;
};
/** An S3 blob store URL as BRAID_BLOB_URL takes it (checked by the same rule). */
const s3Url = (v: string) => {
  try {
    readConfig({ BRAID_BLOB_URL: v });
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^invalid setting BRAID_BLOB_URL: /, ''));
  }
  return v;
};
const validatorName = (v: string): ValidatorName => {
  if (!(VALIDATORS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected ${VALIDATORS.join(' or ')}`);
  return v as ValidatorName;
};

const raceStrategies = (v: string): StrategySpec[] => {
  try {
    return parseStrategies(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--speculate: /, ''));
  }
};

const PLOT_HELP = 'also write the figures as an SVG image (default <scenario>.svg in the current directory)';

const JITTER_HELP = 'spread model latency log-normally around its median with this σ (0 = fixed; 0.3 ≈ a real model)';

const program = new Command('bench')
  .description('Braid benchmarks')
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`bench: ${str.replace(/^error: /, '')}`) });

program
  .command('tool-fanout')
  .description('six parallel tool calls (0.2–3 s) between two model turns: sequential vs Promise.all vs Braid vs ideal')
  .option('--runs <n>', 'measured rounds (median reported)', intAtLeast(1), 3)
  .option('--tools <ms,...>', 'tool latencies in ms', msList, [200, 500, 900, 1400, 2000, 3000])
  .option('--model-ttft <ms>', 'simulated model time to first token', intAtLeast(0), 400)
  .option('--jitter <sigma>', JITTER_HELP, jitter, 0)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { runs: number; tools: number[]; modelTtft: number; jitter: number; json?: boolean; plot?: string | true }) =>
    toolFanout({ runs: o.runs, toolLatenciesMs: o.tools, modelTtftMs: o.modelTtft, jitter: o.jitter, json: Boolean(o.json), plot: o.plot }),
  );

program
  // The scenario keeps the name the issues and earlier figures use; `summarize` is the feature it measures.
  .command('mapreduce')
  .alias('summarize')
  .description(
    "braid summarize's map-reduce: N chunks at C in flight with every model call taking L: Braid vs Promise.all + p-limit vs ideal, plus history sizes",
  )
  .option('--n <sizes>', 'comma-separated corpus sizes in chunks', (v) => msList(v).map(Math.round), [1000, 10_000])
  .option('--latency <ms>', 'simulated latency of every model call', intAtLeast(1), 1000)
  .option('--concurrency <n>', 'calls in flight', intAtLeast(1), 200)
  .option('--group <n>', 'results per reduce call', intAtLeast(2), 10)
  .option('--jitter <sigma>', JITTER_HELP, jitter, 0)
  .option('--encrypt', 'also run Braid with payload and blob encryption on: encryptedMs and encryptionOverheadPct beside braidMs')
  .option('--json', 'print one JSON object per size')
  .option('--plot [file]', PLOT_HELP)
  .option('--blob <url>', 'also run Braid with this S3 blob store (s3://bucket/prefix; AWS_* settings from the environment)', s3Url)
  .action(
    (o: {
      n: number[];
      latency: number;
      concurrency: number;
      group: number;
      jitter: number;
      encrypt?: boolean;
      json?: boolean;
      blob?: string;
      plot?: string | true;
    }) =>
      summarizeBench({
        sizes: o.n,
        latencyMs: o.latency,
        concurrency: o.concurrency,
        group: o.group,
        jitter: o.jitter,
        encrypt: Boolean(o.encrypt),
        json: Boolean(o.json),
        blob: o.blob,
        plot: o.plot,
      }),
  );

const intList = (v: string) => {
  const xs = v.split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1))
    throw new InvalidArgumentError('expected comma-separated whole numbers, e.g. 10,50,100');
  return xs;
};

program
  .command('pipeline')
  .description('content pipeline throughput: topics × concurrency, three stages, vs sequential, the semaphore ideal and the seed (scaled)')
  .option('--topics <n,...>', 'topic counts', intList, [10, 50, 100])
  .option('--concurrency <n,...>', 'chains at once', intList, [5, 10, 25])
  .option('--stage-ms <ms>', 'one stage (model call); the seed used 10000', intAtLeast(1), 200)
  .option('--runs <n>', 'runs per cell (median reported)', intAtLeast(1), 3)
  .option('--jitter <sigma>', JITTER_HELP, jitter, 0)
  .option('--overlap', 'also run every cell with stage overlap (paragraphs edited as they are written): overlapMs, overlapGain')
  .option('--token-ms <ms>', 'with --overlap: the simulator writes this many ms per token after the stage time', intAtLeast(1), 10)
  .option('--json', 'one JSON object per cell')
  .option('--plot [file]', PLOT_HELP)
  .action(
    (o: {
      topics: number[];
      concurrency: number[];
      stageMs: number;
      runs: number;
      jitter: number;
      overlap?: boolean;
      tokenMs: number;
      json?: boolean;
      plot?: string | true;
    }) => pipelineBench({ ...o, overlap: Boolean(o.overlap), json: Boolean(o.json) }),
  );

program
  .command('rate-limit')
  .description('N calls, C at once, against a simulator limited to R requests/s: makespan vs N/R, and 429s')
  .option('--calls <n>', 'model calls', intAtLeast(1), 1000)
  .option('--concurrency <n>', 'calls in flight', intAtLeast(1), 32)
  .option('--rps <n>', 'simulator limit, requests per second', intAtLeast(1), 20)
  .option('--model-ms <ms>', 'simulated model latency', intAtLeast(0), 100)
  .option('--compare', 'also run the same load with no budget (429 pauses and jitter only)')
  .option('--json', 'one JSON object per variant')
  .option('--plot [file]', PLOT_HELP)
  .action(
    (o: { calls: number; concurrency: number; rps: number; modelMs: number; compare?: boolean; json?: boolean; plot?: string | true }) =>
      rateLimitBench({ ...o, compare: Boolean(o.compare), json: Boolean(o.json) }),
  );

program
  .command('ensemble')
  .description(
    'a labelled set classified by each model alone, by a majority vote of them and by a cheap judge: accuracy (measured and predicted), tokens, $ and latency',
  )
  .option('--items <n>', 'labelled tickets to classify (1-250)', intAtLeast(1), 250)
  .option('--models <m,...>', 'members, most trusted first (a tie goes to the earliest)', list, DEFAULT_MEMBERS)
  .option('--judge <model>', 'the judge, asked where members disagree', 'claude-haiku-4-5')
  .option('--concurrency <n>', 'items at once', intAtLeast(1), 25)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { items: number; models: string[]; judge: string; concurrency: number; json?: boolean; plot?: string | true }) =>
    ensembleBench({ ...o, json: Boolean(o.json) }),
  );

const dbKind = (v: string) => {
  if (v !== 'memory' && v !== 'file') throw new InvalidArgumentError('expected memory or file');
  return v;
};

program
  .command('overhead')
  .description(
    'ms per step of a serial chain of zero-work steps — activities, local activities, child workflows — and where an activity step goes',
  )
  .option('--steps <k>', 'steps per chain', intAtLeast(1), 50)
  .option('--runs <n>', 'measured runs (median reported)', intAtLeast(1), 5)
  .option('--db <kind>', "the dev server's database: memory, or a file as `braid server start` keeps it", dbKind, 'memory')
  .option('--compare', 'also measure on a dev server as the Temporal CLI starts it, in the same run')
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { steps: number; runs: number; db: 'memory' | 'file'; compare?: boolean; json?: boolean; plot?: string | true }) =>
    overheadBench({ ...o, compare: Boolean(o.compare), json: Boolean(o.json) }),
  );

program
  .command('ceiling')
  .description('most zero-work activities per second one worker and the dev server sustain, and where the CPU goes')
  .option('--chains <n,...>', 'workflows running chains at once', intList, [10, 25, 50])
  .option('--activities <n>', 'activities per measurement', intAtLeast(100), 2000)
  .option('--db <kind>', "the dev server's database: memory, or a file as `braid server start` keeps it", dbKind, 'memory')
  .option('--compare', 'also measure on a dev server as the Temporal CLI starts it, in the same run')
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { chains: number[]; activities: number; db: 'memory' | 'file'; compare?: boolean; json?: boolean; plot?: string | true }) =>
    ceilingBench({ ...o, compare: Boolean(o.compare), json: Boolean(o.json) }),
  );

program
  .command('fanout-wide')
  .description('one workflow fanning out N model calls of L at C in flight: Braid vs Promise.all + p-limit vs ideal')
  .option('--n <n>', 'branches (model calls)', intAtLeast(1), 500)
  .option('--concurrency <n>', 'calls in flight', intAtLeast(1), 500)
  .option('--latency <ms>', 'simulated latency of every model call', intAtLeast(1), 1000)
  .option('--runs <n>', 'measured runs (median reported)', intAtLeast(1), 3)
  .option('--jitter <sigma>', JITTER_HELP, jitter, 0)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { n: number; concurrency: number; latency: number; runs: number; jitter: number; json?: boolean; plot?: string | true }) =>
    fanoutWideBench({ ...o, latencyMs: o.latency, json: Boolean(o.json) }),
  );

program
  .command('search')
  .description(
    'the labelled query set searched in each source and fused by RRF: recall@10 and nDCG@10 of each vs RRF; latency with the web slower than its time',
  )
  .option('--queries <n>', 'labelled queries to run (1-62)', intAtLeast(1), 62)
  .option('-k, --k <n>', "RRF's k", intAtLeast(0), 60)
  .option('--timeout <ms>', "every source's time in the latency phase", intAtLeast(50), 1000)
  .option('--slow-ms <ms>', "the web's latency in the latency phase", intAtLeast(1), 5000)
  .option('--slow-runs <n>', 'searches in the latency phase, one at a time', intAtLeast(1), 10)
  .option('--concurrency <n>', 'searches at once in the quality phase', intAtLeast(1), 8)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action(
    (o: {
      queries: number;
      k: number;
      timeout: number;
      slowMs: number;
      slowRuns: number;
      concurrency: number;
      json?: boolean;
      plot?: string | true;
    }) => searchBench({ ...o, timeoutMs: o.timeout, json: Boolean(o.json) }),
  );

program
  .command('actors')
  .description("agents sharing one key: lost updates through compare-and-swap vs naive read-modify-write; one agent's mailbox throughput")
  .option('--agents <n>', 'agents updating one key at once', intAtLeast(2), 20)
  .option('--each <n>', 'increments per agent', intAtLeast(1), 5)
  .option('--messages <n>', 'messages through one mailbox', intAtLeast(1), 300)
  .option('--senders <n>', 'concurrent senders', intAtLeast(1), 20)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { agents: number; each: number; messages: number; senders: number; json?: boolean; plot?: string | true }) =>
    actorsBench({ ...o, json: Boolean(o.json) }),
  );

program
  .command('speculate')
  .description('the same questions with and without hedged model calls under log-normal latency: p50/p95/p99, tokens, cost')
  .option('--calls <n>', 'questions per variant', intAtLeast(20), 300)
  .option('--concurrency <n>', 'questions in flight per variant', intAtLeast(1), 8)
  .option('--median <ms>', 'median time to first token', intAtLeast(1), 150)
  .option('--sigma <s>', 'log-normal σ of the time to first token', jitter, 1)
  .option('--race-questions <n>', 'strategy race: distinct handbook questions (0: no race)', intAtLeast(0), 20)
  .option('--race-repeats <n>', 'strategy race: times each question is asked (repeats can hit the answer cache)', intAtLeast(1), 2)
  .option('--race-concurrency <n>', 'strategy race: questions in flight per variant', intAtLeast(1), 4)
  .option('--race-validator <name>', 'strategy race: non-empty or judge', validatorName, 'non-empty')
  .option('--race-strategies <list>', 'strategy race: name=ms,… (default cache=0,retrieval=50,agent=200)', raceStrategies)
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action(
    (o: {
      calls: number;
      concurrency: number;
      median: number;
      sigma: number;
      raceQuestions: number;
      raceRepeats: number;
      raceConcurrency: number;
      raceValidator: ValidatorName;
      raceStrategies?: StrategySpec[];
      json?: boolean;
      plot?: string | true;
    }) => speculateBench({ ...o, medianMs: o.median, json: Boolean(o.json) }),
  );

program
  .command('early-dispatch')
  .description('one ask turn of tool calls the model writes over ~1 s each: tools started at each block vs after the turn vs ideal')
  .option('--runs <n>', 'measured rounds (median reported)', intAtLeast(1), 1)
  .option('--block-ms <ms>', 'time the model takes to write one tool_use block', intAtLeast(50), 1000)
  .option('--tools <ms,...>', 'tool latencies in ms, in the order the model writes the calls', msList, [2000, 1500, 1000, 500])
  .option('--json', 'print one JSON object')
  .option('--plot [file]', PLOT_HELP)
  .action((o: { runs: number; blockMs: number; tools: number[]; json?: boolean; plot?: string | true }) =>
    earlyDispatchBench({ runs: o.runs, blockMs: o.blockMs, toolsMs: o.tools, json: Boolean(o.json), plot: o.plot }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
