// The calculator's evaluation, run inside the calculator's sandbox processes (see sandbox.ts and
// calculator.ts): mathjs on a private, hardened instance.
//
// mathjs's expression language is rich enough to be a risk when the expression comes from a
// model: some functions change the shared instance for every later call (import, createUnit,
// config) and some parse further text into expression trees (evaluate, parse, simplify, …). Those
// are replaced, on a private instance, by functions that refuse, as mathjs's security notes advise.
// Functions that allocate or loop on request are disabled or capped too, so that ordinary mistakes
// get a clear message; what still runs away is stopped by the sandbox's memory and time limits.
import { all, create, type FactoryFunctionMap } from 'mathjs';

const MAX_RESULT_CHARS = 5_000;
const MAX_RANGE_LENGTH = 10_000;
const MAX_COMBINATORIC_ARG = 1_000;

/** Functions that reshape the instance, re-enter the parser, or allocate on request. */
const DISABLED = [
  'import',
  'createUnit',
  'config',
  'reviver',
  'replacer',
  'evaluate',
  'parse',
  'compile',
  'parser',
  'simplify',
  'simplifyConstant',
  'simplifyCore',
  'rationalize',
  'derivative',
  'resolve',
  'symbolicEqual',
  'leafCount',
  'help',
  'chain',
  'zeros',
  'ones',
  'identity',
  'resize',
  'kron',
  'matrixFromFunction',
  'random',
  'randomInt',
  'pickRandom',
  'bignumber',
  'bigint',
];

/** Combinatoric functions whose running time grows with their arguments. */
const CAPPED = [
  'combinations',
  'combinationsWithRep',
  'permutations',
  'stirlingS2',
  'bellNumbers',
  'catalan',
  'composition',
  'multinomial',
];

type AnyFn = (...args: unknown[]) => unknown;

const asNumber = (x: unknown): number =>
  typeof x === 'number'
    ? x
    : typeof x === 'object' && x !== null && 'toNumber' in x
      ? Number((x as { toNumber(): number }).toNumber())
      : NaN;

function rangeLength(args: unknown[]): number {
  const parts = typeof args[0] === 'string' ? args[0].split(':').map(Number) : args.filter((a) => typeof a !== 'boolean').map(asNumber);
  const [start = NaN, end = NaN, step = 1] = parts;
  return step === 0 ? Infinity : Math.floor(Math.abs((end - start) / step)) + 1;
}

function largestArg(args: unknown[]): number {
  return Math.max(
    0,
    ...args
      .flat(2)
      .map((a) => Math.abs(asNumber(a)))
      .filter((n) => !Number.isNaN(n)),
  );
}

function buildMath() {
  const math = create(all as FactoryFunctionMap);
  const evaluate = math.evaluate.bind(math);
  const format = math.format.bind(math);
  const registry = math as unknown as Record<string, AnyFn> & { expression: { transform: Record<string, AnyFn | undefined> } };

  // Wrap a function and, if it has one, the variant the expression parser uses (its "transform").
  const guard = (name: string, check: (args: unknown[]) => void): AnyFn => {
    const plain = registry[name] as AnyFn;
    const transform = registry.expression.transform[name];
    const wrapped = (...args: unknown[]): unknown => (check(args), plain(...args));
    return transform ? Object.assign(wrapped, { transform: (...args: unknown[]) => (check(args), transform(...args)) }) : wrapped;
  };

  const overrides: Record<string, AnyFn> = {};
  for (const name of DISABLED) {
    overrides[name] = () => {
      throw new Error(`${name}() is disabled in this calculator`);
    };
  }
  overrides.range = guard('range', (args) => {
    if (!(rangeLength(args) <= MAX_RANGE_LENGTH)) throw new Error(`ranges are limited to ${MAX_RANGE_LENGTH} elements`);
  });
  for (const name of CAPPED) {
    overrides[name] = guard(name, (args) => {
      if (largestArg(args) > MAX_COMBINATORIC_ARG) throw new Error(`${name}() arguments are limited to ${MAX_COMBINATORIC_ARG}`);
    });
  }
  math.import(overrides, { override: true });
  return { evaluate, format };
}

let instance: ReturnType<typeof buildMath> | undefined;

/** Numbers as a person would write them: ~10 significant digits, exponent only when very large or small. */
function show(format: (v: unknown, o: object) => string, value: unknown): string {
  return format(value, { precision: 10, lowerExp: -9, upperExp: 15 });
}

export interface CalculatorResult extends Record<string, unknown> {
  expression: string;
  result: string;
  value?: number;
  unit?: string;
}

/** Evaluates in the calling process; throws an Error whose message is meant for the model. */
export function calculate(expression: string): CalculatorResult {
  instance ??= buildMath();
  const { evaluate, format } = instance;
  let raw: unknown;
  try {
    raw = evaluate(expression);
  } catch (err) {
    throw new Error(`Could not evaluate ${JSON.stringify(expression)}: ${String((err as Error).message ?? err).replace(/\s+/g, ' ')}`);
  }
  if (isResultSet(raw)) raw = raw.entries[raw.entries.length - 1];
  if (raw === undefined || raw === null) {
    throw new Error(`${JSON.stringify(expression)} produced no value; a trailing ";" hides the last result.`);
  }
  let result = show(format, raw);
  if (result.length > MAX_RESULT_CHARS)
    result = `${result.slice(0, MAX_RESULT_CHARS)}… [${result.length - MAX_RESULT_CHARS} more characters]`;
  const out: CalculatorResult = { expression, result };
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    out.value = Number(show(format, raw));
  } else if (isUnit(raw)) {
    const { value, unit } = raw.toJSON();
    if (typeof value === 'number' && Number.isFinite(value)) out.value = Number(show(format, value));
    if (unit) out.unit = unit;
  }
  return out;
}

function isResultSet(v: unknown): v is { entries: unknown[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { type?: unknown }).type === 'ResultSet' &&
    Array.isArray((v as { entries?: unknown }).entries)
  );
}

function isUnit(v: unknown): v is { toJSON(): { value: unknown; unit: string } } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Unit';
}

/** The sandbox entry point: one hardened mathjs instance per process. */
export function createHandler(): (expression: string) => CalculatorResult {
  instance ??= buildMath();
  return calculate;
}
