/**
 * `npm run fixtures`: writes the labelled fixture sets to data/fixtures/ from their deterministic
 * generators — the support tickets and the simulated web's pages (src/simulator/fixtures/), and the
 * search benchmark's labelled queries (bench/search-set.ts), which are derived from the tickets, the
 * pages, the handbook and the sample database. The committed files must equal what this writes;
 * test/simulator-fixtures.test.ts and test/search-set.test.ts check it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { querySetJsonl, searchQuerySet } from '../bench/search-set';
import { supportTickets, toJsonl } from '../src/simulator/fixtures/support-tickets';
import { webPages, webPagesJsonl } from '../src/simulator/fixtures/web-pages';

const dir = path.join(__dirname, '..', 'data', 'fixtures');
fs.mkdirSync(dir, { recursive: true });
const write = (file: string, text: string, what: string) => {
  fs.writeFileSync(path.join(dir, file), text);
  console.log(`wrote ${what} to ${path.relative(process.cwd(), path.join(dir, file))}`);
};

const set = supportTickets();
write('support-tickets.jsonl', toJsonl(set), `${set.items.length} items (${set.labels.join(', ')})`);
const pages = webPages();
write('web-pages.jsonl', webPagesJsonl(pages), `${pages.length} web pages`);
// Last: the query set's labels read the tickets file written above.
const queries = searchQuerySet();
write('search-queries.jsonl', querySetJsonl(queries), `${queries.length} labelled queries`);
