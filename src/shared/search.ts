/**
 * `braid search`'s contract: a query fanned out to several sources at once, each within its own
 * time, and their ranked lists merged by Reciprocal Rank Fusion.
 */

/** The sources every Braid worker offers (src/search/): what `braid search --sources` may name. */
export const SEARCH_SOURCES = ['handbook', 'database', 'tickets', 'web'] as const;

/**
 * A passage's id names its source and its place there, the same in every run: `handbook:shipping#customs-duties-and-taxes`
 * (file and section heading), `database:orders/123` (table and row id), `tickets:ticket-042`, `web:page-017`.
 */
export const passageId = (source: string, key: string): string => `${source}:${key}`;

/** A heading as it appears in a handbook passage id: lower case, runs of other characters as one hyphen. */
export const headingSlug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** `shipping.md`, "Customs, duties and taxes" → `handbook:shipping#customs-duties-and-taxes`. */
export const handbookPassageId = (file: string, heading: string): string =>
  passageId('handbook', `${file.replace(/\.md$/, '')}#${headingSlug(heading)}`);
