// Public surface of Braid's Anthropic-compatible model simulator: start one, point the real SDK's
// `baseURL` at `sim.url`, and read the ledger afterwards. Internals (planner, validation, wire
// formats) stay importable from their own modules for unit tests but are not part of this API.
export { Simulator } from './server';
export { parseOptions, parseConfigPatch, ConfigInvalid } from './config';
export type {
  AnswerRule,
  Dist,
  FaultKind,
  FaultRule,
  LatencyConfig,
  LedgerEntry,
  LedgerOutcome,
  RateLimitConfig,
  SimulatorOptions,
} from './types';
