/**
 * Custom search attributes Braid sets on its runs, so `braid pending` and the Web UI can filter
 * them (e.g. `BraidKind = "ask"`): the CLI sets them when it starts a run (cli/session.ts) and
 * workflow code keeps BraidStatus up to date, so this module stays free of Node APIs. The dev
 * server registers them at start; on a cluster or Temporal Cloud register them once with
 * `temporal operator search-attribute create`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Braid's search attributes and their types, as a namespace must register them (`registerSearchAttributes`). */
export const SEARCH_ATTRIBUTES = { BraidKind: 'Keyword', BraidStatus: 'Keyword' } as const;

export const BraidKind = defineSearchAttributeKey('BraidKind', SearchAttributeType.KEYWORD);

/** A publish run's stage (`awaiting_approval`, `published`, …); `braid pending` filters on it. */
export const BraidStatus = defineSearchAttributeKey('BraidStatus', SearchAttributeType.KEYWORD);

/** Every key above, for servers that take typed keys (the SDK's test server, the dev server setup). */
export const SEARCH_ATTRIBUTE_KEYS = [BraidKind, BraidStatus];
