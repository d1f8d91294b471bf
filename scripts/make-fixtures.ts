/**
 * `npm run fixtures`: writes the simulator's labelled fixture sets to data/fixtures/ from their
 * deterministic generators (src/simulator/fixtures/). The committed files must equal what this
 * writes; test/simulator-fixtures.test.ts checks it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { supportTickets, toJsonl } from '../src/simulator/fixtures/support-tickets';

const out = path.join(__dirname, '..', 'data', 'fixtures', 'support-tickets.jsonl');
fs.mkdirSync(path.dirname(out), { recursive: true });
const set = supportTickets();
fs.writeFileSync(out, toJsonl(set));
console.log(`wrote ${set.items.length} items (${set.labels.join(', ')}) to ${path.relative(process.cwd(), out)}`);
