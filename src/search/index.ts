// Entry point for search sources: the registry types and the four sources every worker offers,
// wired to the data bundled in the repository and, for `web`, to a search API.
import { join } from 'node:path';
import { defaultDataDir } from '../tools/paths';
import { createDatabaseSource } from './database';
import { createHandbookSource } from './handbook';
import { SourceRegistry } from './source';
import { createTicketsSource } from './tickets';
import { createWebSource } from './web';

export * from './source';
export { createDatabaseSource } from './database';
export { createHandbookSource } from './handbook';
export { createTicketsSource } from './tickets';
export { createWebSource } from './web';
export { KeywordIndex, type Passage } from './keyword';

export interface DefaultSourceOptions {
  /** Holds docs/, sample-db.sql and fixtures/support-tickets.jsonl; default <repo>/data. */
  dataDir?: string;
  /** The web source's search API; without one its searches fail with a clear reason. */
  webUrl?: string;
}

/** handbook, database, tickets and web: what `braid search` searches by default. */
export function createDefaultSources(opts: DefaultSourceOptions = {}): SourceRegistry {
  const dataDir = opts.dataDir ?? defaultDataDir();
  return new SourceRegistry().register(
    createHandbookSource({ docsDir: join(dataDir, 'docs') }),
    createDatabaseSource({ dbPath: join(dataDir, 'sample-db.sql') }),
    createTicketsSource({ file: join(dataDir, 'fixtures', 'support-tickets.jsonl') }),
    createWebSource({ url: opts.webUrl }),
  );
}
