/**
 * Custom search attributes Braid sets on its runs, so `braid runs` and the Web UI can filter them
 * (e.g. `BraidKind = "ask"`). The dev server registers them at start; on a cluster or Temporal
 * Cloud register them once with `temporal operator search-attribute create`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = { BraidKind: 'Keyword' } as const;

export const BraidKind = defineSearchAttributeKey('BraidKind', SearchAttributeType.KEYWORD);
