/**
 * What `braid publish` asks of the model — a JSON analysis per document (fast model), then a report
 * from all analyses (capable model) — and how an analysis is read back. Pure text, no Node APIs:
 * the publish workflow builds its requests from these. A stored document or analysis goes into a
 * request as a stored text block, which the model-call activity reads back from the blob store.
 */
import type { DocumentAnalysis, PublishDocument } from '../shared/publish';
import type { ContentBlock } from '../shared/types';

/** Characters of a document the analysis reads; the rest is left out of the prompt. */
const ANALYSIS_CHARS = 60_000;

export const ANALYSIS_SYSTEM = 'You review documents before they are published. Be factual and brief.';

const analysisHead = (name: string) =>
  `Analyse the document below for a publication review. Respond with a JSON object of this shape: {"title": "…", "summary": "…", "key_points": ["…"]}\n\nDocument "${name}":\n`;

export function analysisPrompt(doc: PublishDocument): string {
  return `${analysisHead(doc.name)}${doc.text.slice(0, ANALYSIS_CHARS)}`;
}

/** The analysis request's content: the prompt above, with a stored document read from the store (its first ANALYSIS_CHARS). */
export function analysisContent(doc: PublishDocument): string | ContentBlock[] {
  if (!doc.stored) return analysisPrompt(doc);
  return [
    { type: 'text', text: analysisHead(doc.name) },
    { type: 'text', text: doc.text, stored: { ...doc.stored, limit: ANALYSIS_CHARS } },
  ];
}

/** The model was asked for JSON; take the first object in its answer, or its prose as the summary. */
export function parseAnalysis(name: string, text: string): DocumentAnalysis & { title?: string } {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start !== -1 && end > start) {
    try {
      const v = JSON.parse(text.slice(start, end + 1)) as { title?: unknown; summary?: unknown; key_points?: unknown };
      return {
        name,
        ok: true,
        title: typeof v.title === 'string' ? v.title : undefined,
        summary: typeof v.summary === 'string' ? v.summary : text,
        keyPoints: Array.isArray(v.key_points) ? v.key_points.filter((p): p is string => typeof p === 'string') : [],
      };
    } catch {
      // not JSON after all: keep the prose
    }
  }
  return { name, ok: true, summary: text, keyPoints: [] };
}

export const REPORT_SYSTEM = 'You write concise publication reports in Markdown.';

const reportHead = (title: string) =>
  `Write a publication report titled "${title}" from these document analyses: an overview, then what each document contributes.\n\n`;

const brief = (a: DocumentAnalysis): string =>
  a.ok
    ? `## ${a.name}\nSummary: ${a.summary}\nKey points:\n${a.keyPoints.map((p) => `- ${p}`).join('\n')}`
    : `## ${a.name}\n(analysis failed: ${a.error})`;

/** The report request: every analysis in document order, a failed one named as failed. */
export function reportPrompt(title: string, analyses: DocumentAnalysis[]): string {
  return `${reportHead(title)}${analyses.map(brief).join('\n\n')}`;
}

/**
 * The report request's content: the prompt above while every analysis is inline; otherwise text
 * blocks, a stored analysis given as the model wrote it (it could not be parsed without reading it).
 */
export function reportContent(title: string, analyses: DocumentAnalysis[]): string | ContentBlock[] {
  if (!analyses.some((a) => a.stored)) return reportPrompt(title, analyses);
  const blocks: ContentBlock[] = [{ type: 'text', text: reportHead(title) }];
  analyses.forEach((a, i) => {
    const gap = i === 0 ? '' : '\n\n';
    if (a.stored) blocks.push({ type: 'text', text: `${gap}## ${a.name}\n` }, { type: 'text', text: a.summary, stored: a.stored });
    else blocks.push({ type: 'text', text: `${gap}${brief(a)}` });
  });
  return blocks;
}
