/**
 * The `tickets` source: BM25 over the archive of customer support tickets
 * (data/fixtures/support-tickets.jsonl, one JSON object {"id", "text", "label"} per line), one
 * passage per ticket, its category indexed beside its text.
 */
import { readFile } from 'node:fs/promises';
import { passageId } from '../shared/search';
import { KeywordIndex } from './keyword';
import { defineSource, SourceError } from './source';

export function createTicketsSource(opts: { file: string }) {
  const index = new KeywordIndex(
    async () => {
      let text: string;
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (err) {
        throw new SourceError(`cannot read the ticket archive ${opts.file}: ${(err as Error).message}`);
      }
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((line) => {
          const t = JSON.parse(line) as { id: string; text: string; label: string };
          return {
            id: passageId('tickets', t.id),
            title: `${t.id} (${t.label})`,
            text: t.text,
            fields: { category: t.label.replace(/_/g, ' ') },
          };
        });
    },
    { text: 1, category: 0.5 },
  );
  return defineSource({
    name: 'tickets',
    description: 'past customer support tickets (billing, technical issues, accounts, shipping, feedback)',
    search: (query, ctx) => index.search(query, ctx.limit),
    passages: (ids) => index.texts(ids),
    warm: () => index.warm(),
  });
}
