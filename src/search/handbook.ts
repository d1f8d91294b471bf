/**
 * The `handbook` source: BM25 over the sections of the company handbook (data/docs/*.md), one
 * passage per section — the same sections, read the same way, as the `search_docs` tool — with the
 * section heading weighing most and the document's title next.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { handbookPassageId } from '../shared/search';
import { splitSections } from '../tools/search';
import { KeywordIndex } from './keyword';
import { defineSource } from './source';

export function createHandbookSource(opts: { docsDir: string }) {
  const index = new KeywordIndex(
    async () => {
      const files = (await readdir(opts.docsDir)).filter((f) => f.endsWith('.md')).sort();
      const passages = [];
      for (const file of files)
        for (const s of splitSections(file, await readFile(join(opts.docsDir, file), 'utf8')))
          passages.push({
            id: handbookPassageId(file, s.section),
            title: s.section === s.title ? s.title : `${s.title} — ${s.section}`,
            text: s.text,
            fields: { doc: s.title, section: s.section },
          });
      return passages;
    },
    { section: 2, doc: 1.5, text: 1 },
  );
  return defineSource({
    name: 'handbook',
    description: "the company handbook's sections (refunds, shipping, pricing, support, security, data retention, onboarding, remote work)",
    search: (query, ctx) => index.search(query, ctx.limit),
    passages: (ids) => index.texts(ids),
    warm: () => index.warm(),
  });
}
