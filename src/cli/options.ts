/**
 * Parsers for command options, shared by every command: commander calls them on the raw text, and
 * a value they refuse becomes one line ("option '--group <n>' argument '1' is invalid. expected …")
 * and exit code 2. Bounds come from the contracts in src/shared, which the workflows check too.
 */
import { InvalidArgumentError } from 'commander';
import { DURATION_HINT, parseDurationMs } from '../config';
import { parseBudget, type InFlightPolicy } from '../shared/budget';

export interface Bounds {
  min: number;
  max: number;
}

/** "2-100", for help texts. */
export const range = (b: Bounds) => `${b.min}-${b.max}`;

export function intIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

export const intWithin = (b: Bounds) => intIn(b.min, b.max);

export function intAtLeast(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    return n;
  };
}

export function percentage(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('expected a percentage from 0 to 100');
  return n;
}

/** `--budget`: US dollars, "0.50" or "$0.50", within BUDGET_LIMITS. */
export function usd(value: string): number {
  try {
    return parseBudget(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--budget: /, ''));
  }
}

/** `--on-budget`: what happens to calls in flight when the budget is reached. */
export function inFlightPolicy(value: string): InFlightPolicy {
  if (value === 'keep' || value === 'cancel') return value;
  throw new InvalidArgumentError('expected keep (calls in flight finish) or cancel (they are stopped)');
}

/** 90s, 15m, 24h, 2d or plain milliseconds, as milliseconds (the same syntax as BRAID_* durations). */
export function duration(value: string): number {
  const n = parseDurationMs(value);
  if (n === undefined) throw new InvalidArgumentError(DURATION_HINT);
  return n;
}

/** A comma-separated list; blanks are dropped. */
export const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
