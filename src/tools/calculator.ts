// `calculator`: exact arithmetic, percentages and unit conversions, so the model does not have to
// do sums in its head.
//
// The expression comes from the model, and mathjs will happily build a 10000×10000 matrix or loop
// a hundred million times if asked. So evaluation (calculator-engine.ts, a hardened mathjs) runs in
// sandbox processes with their own memory limits, and the registry's deadline kills the process:
// a hostile expression costs one child process, never the worker's heap or event loop.
import { extname, join } from 'node:path';
import { z } from 'zod';
import type { CalculatorResult } from './calculator-engine';
import { defineTool, ToolError } from './registry';
import { Sandbox, SandboxFailure, SandboxLimit } from './sandbox';

export type { CalculatorResult } from './calculator-engine';

export const CALCULATOR_DESCRIPTION =
  'Evaluate a math expression exactly instead of working it out yourself: arithmetic, percentages, powers and roots, ' +
  'trigonometry, statistics over lists, and unit conversions. ' +
  "Examples: '(1299 - 1040) / 1040 * 100', '15% * 2340', 'sqrt(2)^2', 'mean([12, 15, 9])', '26.2 mi to km', '100 degF to degC', '3 kg + 250 g to lb'. " +
  'Separate several statements with ";" (variables such as a = 3 are allowed); the last value is returned. ' +
  'Returns the result as text, plus the number and unit when there is one.';

/** JavaScript heap of each calculator process; mathjs itself takes about 30 MB of it. */
export const CALCULATOR_HEAP_MB = 128;
/** Resident memory at which a calculator process is killed (a warm one uses ~115 MB). */
export const CALCULATOR_RSS_MB = 320;
export const CALCULATOR_TIMEOUT_MS = 5_000;

export interface CalculatorToolOptions {
  /** Processes evaluating at once (default 2); more calls wait for a free one within their deadline. */
  maxProcesses?: number;
  /** A call's time limit; default CALCULATOR_TIMEOUT_MS. */
  timeoutMs?: number;
}

export function createCalculatorTool(opts: CalculatorToolOptions = {}) {
  const sandbox = new Sandbox<undefined, string, CalculatorResult>({
    name: 'calculator',
    module: join(__dirname, `calculator-engine${extname(__filename)}`),
    init: undefined,
    maxProcesses: opts.maxProcesses ?? 2,
    heapMb: CALCULATOR_HEAP_MB,
    maxRssMb: CALCULATOR_RSS_MB,
    maxReplyChars: 20_000,
  });
  return defineTool({
    name: 'calculator',
    description: CALCULATOR_DESCRIPTION,
    input: z.object({
      expression: z.string().min(1).max(500).describe("A mathjs expression, e.g. '0.15 * 2340' or '26.2 mi to km'"),
    }),
    timeoutMs: opts.timeoutMs ?? CALCULATOR_TIMEOUT_MS,
    async handler({ expression }, ctx) {
      try {
        return await sandbox.run(expression, { signal: ctx.signal });
      } catch (err) {
        if (err instanceof SandboxFailure) throw new ToolError(err.message);
        if (err instanceof SandboxLimit) throw new ToolError(`Could not evaluate ${JSON.stringify(expression)}: ${err.message}.`);
        throw err;
      }
    },
    warm: () => sandbox.warm(),
    close: () => sandbox.close(),
  });
}
