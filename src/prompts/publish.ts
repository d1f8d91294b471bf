/**
 * What `braid publish` asks of the model — a JSON analysis per document (fast model), then a report
 * from all analyses (capable model) — and how an analysis is read back. Pure text, no Node APIs:
 * the publish workflow builds its requests from these.
 */
import type { DocumentAnalysis, PublishDocument } from '../shared/publish';

/** Characters of a document the analysis reads; the rest is left out of the prompt. */
const ANALYSIS_CHARS = 60_000;

export const ANALYSIS_SYSTEM = 'You review documents before they are published. Be factual and brief.';

export function analysisPrompt(doc: PublishDocument): string {
  return `Analyse the document below for a publication review. Respond with a JSON object of this shape: {"title": "…", "summary": "…", "key_points": ["…"]}\n\nDocument "${doc.name}":\n${doc.text.slice(0, ANALYSIS_CHARS)}`;
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

/** The report request: every analysis in document order, a failed one named as failed. */
export function reportPrompt(title: string, analyses: DocumentAnalysis[]): string {
  const brief = analyses
    .map((a) =>
      a.ok
        ? `## ${a.name}\nSummary: ${a.summary}\nKey points:\n${a.keyPoints.map((p) => `- ${p}`).join('\n')}`
        : `## ${a.name}\n(analysis failed: ${a.error})`,
    )
    .join('\n\n');
  return `Write a publication report titled "${title}" from these document analyses: an overview, then what each document contributes.\n\n${brief}`;
}
