/**
 * Sections for stage overlap: a text split at blank lines, and the same split found while the text
 * arrives in pieces (the writer's stream), so a paragraph announced early is the paragraph the
 * finished draft has at that position.
 */
import { describe, expect, it } from 'vitest';
import { SectionSplitter, splitSections } from '../src/shared/stream';

const DRAFT = 'First paragraph, one line.\n\nSecond one\nover two lines.\n \n\n\nThird after blank lines.\n\t\nLast, unfinished';

describe('sections', () => {
  it('splits at blank lines, trims, skips empty paragraphs and numbers what is left', () => {
    expect(splitSections(DRAFT)).toEqual([
      { index: 0, text: 'First paragraph, one line.' },
      { index: 1, text: 'Second one\nover two lines.' },
      { index: 2, text: 'Third after blank lines.' },
      { index: 3, text: 'Last, unfinished' },
    ]);
    expect(splitSections('\n\n  \n')).toEqual([]);
    expect(splitSections('one line\nand the next')).toHaveLength(1);
  });

  it('finds the same sections in a text that arrives in pieces of any size, all but the last', () => {
    for (const size of [1, 2, 3, 5, 8, 13, DRAFT.length]) {
      const splitter = new SectionSplitter();
      const found = [];
      for (let i = 0; i < DRAFT.length; i += size) found.push(...splitter.push(DRAFT.slice(i, i + size)));
      expect(found, `pieces of ${size}`).toEqual(splitSections(DRAFT).slice(0, -1));
    }
  });
});
