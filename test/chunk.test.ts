// Tests for the semantic chunker in src/ingest/chunk.ts: offsets, budgets, boundaries, coverage.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkCorpus, chunkSource, estimateTokens, ingest, type Chunk, type Source } from '../src/ingest';

const source = (text: string, path = 'doc.md'): Source => ({
  path,
  absPath: `/virtual/${path}`,
  kind: 'md',
  text,
  bytes: Buffer.byteLength(text),
  sha256: 'test',
});

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Length of the run of non-whitespace that straddles `edge` (0 when the edge touches whitespace). */
function runAround(text: string, edge: number): number {
  let a = edge;
  let b = edge;
  while (a > 0 && /\S/.test(text[a - 1]!)) a--;
  while (b < text.length && /\S/.test(text[b]!)) b++;
  return a < edge && b > edge ? b - a : 0;
}

/**
 * The invariants every chunking must keep, asserted for one source. A cut between two word
 * characters is allowed only inside a run of non-whitespace longer than the whole budget.
 */
function checkInvariants(src: Source, chunks: Chunk[], maxTokens: number): void {
  const covered = new Uint8Array(src.text.length);
  let previousEnd = 0;
  for (const c of chunks) {
    expect(c.text).toBe(src.text.slice(c.start, c.end));
    expect(c.source).toBe(src.path);
    expect(c.tokens).toBe(estimateTokens(c.text));
    expect(c.tokens).toBeLessThanOrEqual(maxTokens);
    expect(c.start).toBeGreaterThanOrEqual(previousEnd);
    expect(c.text.trim()).toBe(c.text); // starts and ends on real text
    for (const edge of [c.start, c.end]) {
      const before = src.text[edge - 1] ?? ' ';
      const after = src.text[edge] ?? ' ';
      const giantWord = runAround(src.text, edge) > maxTokens * 4;
      expect(!giantWord && WORD_CHAR.test(before) && WORD_CHAR.test(after), `mid-word cut at ${edge}`).toBe(false);
    }
    covered.fill(1, c.start, c.end);
    previousEnd = c.end;
  }
  for (let i = 0; i < src.text.length; i++) {
    if (/\S/.test(src.text[i]!) && covered[i] !== 1) throw new Error(`char ${i} (${src.text[i]}) is in no chunk`);
  }
}

const sentence = (i: number): string => `Sentence number ${i} says something about refunds and shipping.`;
const paragraph = (i: number, sentences: number): string => Array.from({ length: sentences }, (_, j) => sentence(i * 100 + j)).join(' ');

describe('estimateTokens', () => {
  it('is ceil(length / 4)', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });
});

describe('chunkSource', () => {
  it('packs whole paragraphs up to the budget and keeps them whole', () => {
    const paras = Array.from({ length: 12 }, (_, i) => paragraph(i, 3)); // ~190 chars each
    const src = source(paras.join('\n\n'));
    const chunks = chunkSource(src, 0, { maxTokens: 120 });
    checkInvariants(src, chunks, 120);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(paras.length); // paragraphs were packed together
    for (const p of paras) expect(chunks.some((c) => c.text.includes(p))).toBe(true);
  });

  it('splits a paragraph too big for one chunk at sentence ends', () => {
    const src = source(paragraph(1, 40));
    const chunks = chunkSource(src, 0, { maxTokens: 60 });
    checkInvariants(src, chunks, 60);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.text).toMatch(/^Sentence number \d+/);
      expect(c.text).toMatch(/shipping\.$/);
    }
  });

  it('splits a sentence too big for one chunk at words', () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i}`);
    const src = source(`${words.join(' ')}.`);
    const chunks = chunkSource(src, 0, { maxTokens: 25 });
    checkInvariants(src, chunks, 25);
    expect(chunks.length).toBeGreaterThan(10);
    const rejoined = chunks
      .map((c) => c.text)
      .join(' ')
      .replace(/\.$/, '')
      .split(' ');
    expect(rejoined).toEqual(words);
  });

  it('splits unspaced CJK text only at dictionary word boundaries', () => {
    const text = '我们的退款政策规定所有退款必须在三十天内处理完毕并且客户需要提供原始收据'.repeat(4);
    const src = source(text);
    const chunks = chunkSource(src, 0, { maxTokens: 5 });
    const wordEdges = new Set([...new Intl.Segmenter('en', { granularity: 'word' }).segment(text)].map((s) => s.index));
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.map((c) => c.text).join('')).toBe(text);
    for (const c of chunks) {
      expect(c.end - c.start).toBeLessThanOrEqual(20);
      expect(wordEdges.has(c.start)).toBe(true);
    }
  });

  it('keeps punctuation with its word when splitting at words', () => {
    const src = source(Array.from({ length: 200 }, (_, i) => `item${i},`).join(' '));
    const chunks = chunkSource(src, 0, { maxTokens: 10 });
    checkInvariants(src, chunks, 10);
    for (const c of chunks) expect(c.text.endsWith(',')).toBe(true);
  });

  it('splits a single word longer than the budget into budget-sized pieces (the documented exception)', () => {
    const url = `https://example.com/${'a1b2c3/'.repeat(300)}end`;
    const src = source(`See ${url} for details.`);
    const chunks = chunkSource(src, 0, { maxTokens: 50 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.text).toBe(src.text.slice(c.start, c.end));
      expect(c.tokens).toBeLessThanOrEqual(50);
    }
    // The pieces abut exactly and rebuild the URL; the words around it stay whole.
    const urlStart = src.text.indexOf(url);
    const pieces = chunks.filter((c) => c.start < urlStart + url.length && c.end > urlStart);
    expect(pieces.map((c) => c.text).join('')).toContain(url);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i]!.start).toBe(pieces[i - 1]!.end);
    for (const piece of pieces.slice(0, -1)) expect(piece.text.endsWith('/')).toBe(true); // cut after a slash
  });

  it('never splits a surrogate pair in a giant word', () => {
    const src = source(`a${'😀'.repeat(500)}`);
    const chunks = chunkSource(src, 0, { maxTokens: 7 }); // 28 chars would land inside a pair
    expect(chunks.length).toBeGreaterThan(30);
    expect(chunks.map((c) => c.text).join('')).toBe(src.text);
    for (const c of chunks) expect(c.text).not.toMatch(LONE_SURROGATE);
  });

  it('starts a chunk at a heading once the current chunk is a quarter full', () => {
    const text = ['# Refunds', paragraph(1, 4), '## Exceptions', paragraph(2, 4), '## Timing', 'Short.'].join('\n\n');
    expect(text.length).toBeLessThan(800);
    const src = source(text);
    const chunks = chunkSource(src, 0, { maxTokens: 200 }); // everything would fit in one chunk
    checkInvariants(src, chunks, 200);
    expect(chunks.map((c) => c.text.split('\n')[0])).toEqual(['# Refunds', '## Exceptions', '## Timing']);
  });

  it('does not leave a heading alone in a chunk when the next paragraph only fits on its own', () => {
    const body = `${paragraph(3, 12)} Some more extra words go here.`; // 786 chars
    const src = source(`${paragraph(1, 6)}\n\n## Shipping times\n\n${body}`);
    expect(body.length).toBeLessThanOrEqual(800); // fits a 200-token chunk alone…
    expect('## Shipping times\n\n'.length + body.length).toBeGreaterThan(800); // …but not after the heading
    const chunks = chunkSource(src, 0, { maxTokens: 200 });
    checkInvariants(src, chunks, 200);
    const headed = chunks.find((c) => c.text.startsWith('## Shipping times'));
    expect(headed?.text).toMatch(/^## Shipping times\n\nSentence number 300 /);
  });

  it('does not start a chunk at a heading while the current chunk is nearly empty', () => {
    const src = source('# Title\n\n## Part one\n\nBody text.\n\n## Part two\n\nMore text.');
    const chunks = chunkSource(src, 0, { maxTokens: 200 });
    expect(chunks).toHaveLength(1);
  });

  it('treats a heading line directly followed by text as the start of a section', () => {
    const src = source(`${paragraph(1, 4)}\n## Next\nBody of the next section.`);
    const chunks = chunkSource(src, 0, { maxTokens: 200 });
    expect(chunks.map((c) => c.text.split('\n')[0])).toEqual([paragraph(1, 4), '## Next']);
  });

  it('ignores # lines inside fenced code', () => {
    const src = source(`${paragraph(1, 4)}\n\n\`\`\`sh\n# install\nnpm ci\n\`\`\``);
    expect(chunkSource(src, 0, { maxTokens: 200 })).toHaveLength(1);
  });

  it('produces no chunk for whitespace and trims every boundary', () => {
    expect(chunkSource(source(' \n\n\t \n'), 0)).toEqual([]);
    const src = source('\n\n   Hello there.   \n\n\n  Second paragraph.  \n');
    const start = src.text.indexOf('Hello');
    const end = src.text.indexOf('paragraph.') + 'paragraph.'.length;
    const text = src.text.slice(start, end);
    expect(chunkSource(src, 3)).toEqual([{ id: '3:0', source: 'doc.md', start, end, text, tokens: estimateTokens(text) }]);
  });

  it('keeps every non-whitespace character in exactly one chunk on mixed text', () => {
    const parts: string[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 7 === 0) parts.push(`## Section ${i}`);
      parts.push(i % 5 === 0 ? paragraph(i, 30) : paragraph(i, 1 + (i % 4)));
      if (i % 11 === 0) parts.push(`${'x'.repeat(900)} tail`);
      if (i % 13 === 0) parts.push('- item one\n- item two\n- item three');
    }
    const src = source(parts.map((p, i) => (i % 2 === 0 ? `${p}\n\n` : `${p}\n \n\t\n`)).join(''));
    for (const maxTokens of [20, 64, 300, 800]) checkInvariants(src, chunkSource(src, 0, { maxTokens }), maxTokens);
  });

  it('rejects a budget that is not a positive integer', () => {
    expect(() => chunkSource(source('x'), 0, { maxTokens: 0 })).toThrow(RangeError);
    expect(() => chunkCorpus([], { maxTokens: 1.5 })).toThrow(RangeError);
  });

  it('chunks 1 MB of text in well under 2 seconds', () => {
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 1_000_000; i++) {
      const p = i % 50 === 0 ? paragraph(i, 200) : paragraph(i, 1 + (i % 6));
      parts.push(i % 20 === 0 ? `# Heading ${i}\n${p}` : p);
      size += p.length + 2;
    }
    const src = source(parts.join('\n\n'));
    const t0 = performance.now();
    const chunks = chunkSource(src, 0, { maxTokens: 500 });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(chunks.length).toBeGreaterThan(400);
    expect(chunks.at(-1)?.end).toBe(src.text.trimEnd().length);
  });
});

describe('chunkCorpus', () => {
  it('chunks the bundled data/docs within budget with unique ids', async () => {
    const { sources } = await ingest(['data/docs'], { cwd: resolve(__dirname, '..') });
    const chunks = chunkCorpus(sources, { maxTokens: 200 });
    expect(chunks.length).toBeGreaterThan(8);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
    sources.forEach((src, i) => {
      const own = chunks.filter((c) => c.id.startsWith(`${i}:`));
      expect(own.length).toBeGreaterThan(0);
      checkInvariants(src, own, 200);
    });
  });

  it('gives ids by source index and ordinal', () => {
    const chunks = chunkCorpus([source('One.', 'a.md'), source('Two.\n\nThree.', 'b.md')], { maxTokens: 2 });
    expect(chunks.map((c) => [c.id, c.source, c.text])).toEqual([
      ['0:0', 'a.md', 'One.'],
      ['1:0', 'b.md', 'Two.'],
      ['1:1', 'b.md', 'Three.'],
    ]);
  });
});
