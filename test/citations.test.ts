/**
 * Braid's checks of a model's citations (src/summarize/citations.ts): which ranges count, how they
 * widen to whole sentences, how reply blocks become claims, and how a reduce's citations of earlier
 * claims carry those claims' provenance.
 */
import { describe, expect, it } from 'vitest';
import type { Claim } from '../src/shared/summarize';
import type { CharCitation, TextBlock } from '../src/shared/types';
import {
  checkCitation,
  chunkDocument,
  findingsDocument,
  mergeRanges,
  readReply,
  sentenceSpans,
  statementsOf,
} from '../src/summarize/citations';

const TEXT = [
  '# Returns',
  '',
  'Customers may return unused items within 30 days. Refunds take 5 business days, e.g. for cards.',
  '',
  '- Return shipping is free in the EU.',
  '- **Gift cards** are final sale.',
].join('\n');

const cite = (text: string, cited: string, documentIndex = 0, at = text.indexOf(cited)): CharCitation => ({
  type: 'char_location',
  cited_text: cited,
  document_index: documentIndex,
  document_title: null,
  start_char_index: at,
  end_char_index: at + cited.length,
});
const block = (text: string, ...citations: CharCitation[]): TextBlock =>
  citations.length ? { type: 'text', text, citations } : { type: 'text', text };
const spans = sentenceSpans(TEXT);
const slice = ([a, b]: [number, number]) => TEXT.slice(a, b);

describe('sentenceSpans', () => {
  it("splits by Braid's own segmentation: headings, sentences, list items, abbreviations kept inside", () => {
    expect(spans.map(slice)).toEqual([
      '# Returns',
      'Customers may return unused items within 30 days.',
      'Refunds take 5 business days, e.g. for cards.',
      '- Return shipping is free in the EU.',
      '- **Gift cards** are final sale.',
    ]);
  });
});

describe('checkCitation', () => {
  it('accepts an exact sentence as aligned', () => {
    const r = checkCitation(cite(TEXT, 'Customers may return unused items within 30 days.'), TEXT, spans);
    expect(r).toMatchObject({ ok: true, aligned: true, first: 1, last: 1 });
    expect(r.ok && slice(r.range)).toBe('Customers may return unused items within 30 days.');
  });

  it('counts a list item cited without its marker, or with surrounding whitespace, as aligned', () => {
    expect(checkCitation(cite(TEXT, 'Return shipping is free in the EU.'), TEXT, spans)).toMatchObject({ ok: true, aligned: true });
    expect(checkCitation(cite(TEXT, 'Gift cards** are final sale.'), TEXT, spans)).toMatchObject({ ok: true, aligned: true });
    expect(checkCitation(cite(TEXT, ' Refunds take 5 business days, e.g. for cards.\n'), TEXT, spans)).toMatchObject({
      ok: true,
      aligned: true,
    });
  });

  it('widens a mid-sentence range to the whole sentence, and one spanning two sentences to both', () => {
    const mid = checkCitation(cite(TEXT, 'within 30 days'), TEXT, spans);
    expect(mid).toMatchObject({ ok: true, aligned: false });
    expect(mid.ok && slice(mid.range)).toBe('Customers may return unused items within 30 days.');
    const two = checkCitation(cite(TEXT, '30 days. Refunds take'), TEXT, spans);
    expect(two).toMatchObject({ ok: true, aligned: false, first: 1, last: 2 });
    expect(two.ok && slice(two.range)).toBe(
      'Customers may return unused items within 30 days. Refunds take 5 business days, e.g. for cards.',
    );
  });

  it('rejects a range outside the document, an empty or inverted one, and one whose cited text is not the text there', () => {
    const good = cite(TEXT, 'Customers may return unused items within 30 days.');
    expect(checkCitation({ ...good, end_char_index: TEXT.length + 1 }, TEXT, spans)).toMatchObject({ ok: false });
    expect(checkCitation({ ...good, start_char_index: -1 }, TEXT, spans)).toMatchObject({ ok: false });
    expect(checkCitation({ ...good, end_char_index: good.start_char_index }, TEXT, spans)).toMatchObject({ ok: false });
    expect(checkCitation({ ...good, start_char_index: 1.5 }, TEXT, spans)).toMatchObject({ ok: false });
    const shifted = checkCitation(
      { ...good, start_char_index: good.start_char_index + 1, end_char_index: good.end_char_index + 1 },
      TEXT,
      spans,
    );
    expect(shifted).toMatchObject({ ok: false, reason: expect.stringMatching(/cited text differs/) });
    expect(checkCitation({ ...good, cited_text: 'Customers may return any item within 90 days.' }, TEXT, spans)).toMatchObject({
      ok: false,
    });
  });

  it('rejects a range of whitespace between sentences', () => {
    const at = TEXT.indexOf('\n\n');
    expect(checkCitation(cite(TEXT, '\n\n', 0, at), TEXT, spans)).toMatchObject({ ok: false, reason: expect.stringMatching(/whitespace/) });
  });
});

describe('statementsOf', () => {
  it("joins a real model's fragments into the sentence they make, with every citation inside it", () => {
    const a = cite(TEXT, 'within 30 days');
    const b = cite(TEXT, 'Return shipping is free in the EU.');
    const st = statementsOf([
      block('Here is what matters.\n\n'),
      block('Customers have '),
      block('30 days to return unused items', a),
      block(', and '),
      block('return shipping is free in the EU', b),
      block('.\n'),
      block('Gift cards cannot be returned.'),
    ]);
    expect(st).toEqual([
      { text: 'Here is what matters.', citations: [], newline: true },
      { text: 'Customers have 30 days to return unused items, and return shipping is free in the EU.', citations: [a, b], newline: true },
      { text: 'Gift cards cannot be returned.', citations: [], newline: false },
    ]);
  });
});

describe('readReply', () => {
  const doc = chunkDocument(TEXT, 'docs/returns.md', 1000);
  const at = (s: string): [number, number] => [1000 + TEXT.indexOf(s), 1000 + TEXT.indexOf(s) + s.length];

  it('keeps cited statements as claims with file ranges of whole sentences, numbers them, and drops uncited ones', () => {
    const r = readReply(
      [
        block('Some context first. '),
        block('Customers may return unused items within 30 days. ', cite(TEXT, 'Customers may return unused items within 30 days.')),
        block('Refunds are quick. ', cite(TEXT, 'take 5 business days')),
        block('Return shipping is free in the EU.', cite(TEXT, 'Return shipping is free in the EU.')),
      ],
      [doc],
    );
    expect(r.claims).toEqual([
      {
        text: 'Customers may return unused items within 30 days.',
        sources: [{ source: 'docs/returns.md', ranges: [at('Customers may return unused items within 30 days.')] }],
      },
      {
        text: 'Refunds are quick.',
        sources: [{ source: 'docs/returns.md', ranges: [at('Refunds take 5 business days, e.g. for cards.')] }],
      },
      {
        text: 'Return shipping is free in the EU.',
        sources: [{ source: 'docs/returns.md', ranges: [at('- Return shipping is free in the EU.')] }],
      },
    ]);
    expect(r.answer).toBe(
      'Customers may return unused items within 30 days. [1] Refunds are quick. [2] Return shipping is free in the EU. [3]',
    );
    expect(r.checks).toEqual({ returned: 3, aligned: 2, widened: 1, rejected: 0, uncited: 1 });
  });

  it('never trusts a citation it cannot check: wrong text, another document, out of range', () => {
    const good = cite(TEXT, 'Customers may return unused items within 30 days.');
    const r = readReply(
      [
        block('Returns take 90 days. ', { ...good, cited_text: 'Customers may return unused items within 90 days.' }),
        block('Refunds are instant. ', { ...good, document_index: 1 }),
        block('Shipping is free. ', { ...good, start_char_index: 5000, end_char_index: 5050 }),
        block('Customers may return unused items within 30 days.', good),
      ],
      [doc],
    );
    expect(r.claims.map((c) => c.text)).toEqual(['Customers may return unused items within 30 days.']);
    expect(r.checks).toMatchObject({ returned: 4, aligned: 1, rejected: 3, uncited: 3 });
    expect(r.rejections).toHaveLength(3);
    expect(r.answer).not.toMatch(/90 days|instant|Shipping is free/);
  });

  it('finds no claim in a "not relevant" reply, and counts nothing as left out', () => {
    const r = readReply([block('Not relevant to the task.')], [doc]);
    expect(r).toMatchObject({ claims: [], answer: '', checks: { returned: 0, uncited: 0 } });
  });
});

describe('findingsDocument', () => {
  const claims: Claim[] = [
    { text: 'Returns are accepted within 30 days.', sources: [{ source: 'a.md', ranges: [[10, 46]] }] },
    { text: 'Refunds take\n5 days.', sources: [{ source: 'a.md', ranges: [[47, 68]] }] },
    { text: 'Express delivery costs USD 19.', sources: [{ source: 'b.md', ranges: [[300, 330]] }] },
  ];
  const doc = findingsDocument(claims);

  it('lists one claim per line, and a citation of lines carries those claims’ sources, merged', () => {
    expect(doc.text).toBe('Returns are accepted within 30 days.\nRefunds take 5 days.\nExpress delivery costs USD 19.');
    const r = readReply(
      [
        block('Returns and refunds are quick. ', cite(doc.text, 'Returns are accepted within 30 days.\nRefunds take 5 days.')),
        block('Express costs extra.', cite(doc.text, 'costs USD 19')),
      ],
      [doc],
    );
    expect(r.claims).toEqual([
      { text: 'Returns and refunds are quick.', sources: [{ source: 'a.md', ranges: [[10, 68]] }] },
      { text: 'Express costs extra.', sources: [{ source: 'b.md', ranges: [[300, 330]] }] },
    ]);
    expect(r.checks).toMatchObject({ aligned: 1, widened: 1 });
  });
});

describe('mergeRanges', () => {
  it('merges overlapping ranges and those only whitespace apart, and keeps the rest apart', () => {
    expect(
      mergeRanges([
        [50, 60],
        [0, 10],
        [11, 20],
        [5, 8],
        [23, 30],
      ]),
    ).toEqual([
      [0, 20],
      [23, 30],
      [50, 60],
    ]);
  });
});
