/**
 * Custom search attributes Braid sets on its runs, so `braid runs`, `braid pending` and the Web UI
 * can filter them (e.g. `BraidKind = "ask" AND BraidStatus = "tools"`): the CLI sets both when it
 * starts a run (cli/session.ts) and workflow code keeps BraidStatus up to date
 * (workflows/status.ts), so this module stays free of Node APIs. Child workflows (a pipeline's
 * chains, a summarize tree's nodes) carry neither: a filter on BraidKind lists runs, not their parts.
 * The dev server registers them at start; on a cluster or Temporal Cloud register them once with
 * `temporal operator search-attribute create`. Without them runs still work, unlabelled.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Braid's search attributes and their types, as a namespace must register them (`registerSearchAttributes`). */
export const SEARCH_ATTRIBUTES = { BraidKind: 'Keyword', BraidStatus: 'Keyword' } as const;

/** The kinds of run Braid's CLI starts, each labelled with its BraidKind (`ask --speculate` is an `ask`). */
export const BRAID_KINDS = ['ask', 'summarize', 'pipeline', 'publish', 'health', 'ensemble', 'search', 'actor'] as const;

/** What kind of run: one of BRAID_KINDS, or a kind of your own started through the library's client. */
export const BraidKind = defineSearchAttributeKey('BraidKind', SearchAttributeType.KEYWORD);

/**
 * Where the run is: `queued` until a worker picks it up, then the kind's phases (ask: `thinking`,
 * `tools`; summarize: `map`, `reduce`; pipeline: `running`, `retrying`; publish: its stages, of which
 * `awaiting_approval` is what `braid pending` lists), and at the end `done`, `failed` or
 * `cancelled` (publish ends `published`, `rejected`, `compensated` or `failed`).
 */
export const BraidStatus = defineSearchAttributeKey('BraidStatus', SearchAttributeType.KEYWORD);

/** The BraidStatus values every kind shares. */
export const RUN_STATUS = { queued: 'queued', done: 'done', failed: 'failed', cancelled: 'cancelled' } as const;

/** Every key above, for servers that take typed keys (the SDK's test server, the dev server setup). */
export const SEARCH_ATTRIBUTE_KEYS = [BraidKind, BraidStatus];
