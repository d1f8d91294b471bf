// HTML to the text a reader sees, via html-to-text: no script, style, template or noscript
// content, no link targets, no image alt text, and no hard wrapping (the chunker decides where
// lines break). Headings come out as Markdown `#` lines, so the chunker keeps an HTML page's
// sections together exactly as it does a Markdown file's.
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';

const HEADING_LEVELS = [1, 2, 3, 4, 5, 6] as const;

const markdownHeading =
  (level: number): FormatCallback =>
  (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addInline(`${'#'.repeat(level)} `);
    walk(elem.children ?? [], builder);
    builder.closeBlock({ trailingLineBreaks: 2 });
  };

const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: Object.fromEntries(HEADING_LEVELS.map((level) => [`heading${level}`, markdownHeading(level)])),
  selectors: [
    ...['script', 'style', 'noscript', 'template', 'img'].map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
    ...HEADING_LEVELS.map((level) => ({ selector: `h${level}`, format: `heading${level}` })),
  ],
};

export const htmlToText = (html: string): string => convert(html, OPTIONS);
