// The answer to a request that needs no tool call: the task read from the prompt (see prompt.ts),
// carried out on the evidence (evidence.ts) and written in the form asked for — a structured
// output's JSON, a JSON template's shape, bullets, a label alone, a verdict with reasons, or text
// blocks carrying `char_location` citations when the material came as documents with citations
// enabled. A forced "invalid" answer breaks exactly that form.
import { articleFrom, editDraft, noMaterialAnswer, reportFrom, researchNotes, topicPhrase } from './compose';
import { Evidence, plain, type TaskContext } from './evidence';
import { fillSchema, fillTemplate, summaryOf } from './fill';
import { recall } from './memory';
import type { Understanding } from './prompt';
import { splitClauses, topicOf } from './tool-plan';
import type { TextBlock } from './types';

const snakeKey = (k: string): string => (/\s/.test(k.trim()) ? k.trim().toLowerCase().replace(/\s+/g, '_') : k.trim());

function limitWords(text: string, maxWords: number | undefined): string {
  if (!maxWords) return text;
  const words = text.split(/\s+/);
  if (words.length <= maxWords) return text;
  return `${words
    .slice(0, maxWords)
    .join(' ')
    .replace(/[,;:]$/, '')}…`;
}

function formatLabel(label: string, u: Understanding): string {
  if (u.constraints.uppercase) return label.toUpperCase();
  if (u.constraints.lowercase) return label.toLowerCase();
  return label;
}

/** Where the question's subject is named ("refunds for damaged items"), for "not relevant" answers. */
function focusOf(u: Understanding): string {
  const about = /\b(?:about|regarding|concerning)\s+([^?.!\n]{3,80})/i.exec(u.question)?.[1];
  return about ? about.trim() : `"${topicPhrase(u.question).slice(0, 80)}"`;
}

function citedBlocks(ev: Evidence, purpose: 'summary' | 'answer'): TextBlock[] {
  const picked = ev.relevant() ? ev.selection(purpose) : [];
  const blocks: TextBlock[] = picked.map((r) => {
    const src = ev.sources.find((s) => s.index === r.sentence.source)!;
    const text = `${plain(r.sentence.text)} `;
    if (!src.citable) return { type: 'text', text };
    return {
      type: 'text',
      text,
      citations: [
        {
          type: 'char_location',
          cited_text: r.sentence.text,
          document_index: src.index,
          document_title: src.title ?? null,
          start_char_index: r.sentence.start,
          end_char_index: r.sentence.end,
          file_id: null,
        },
      ],
    };
  });
  const used = new Set(picked.map((r) => r.sentence.source));
  const unused = ev.sources.filter((s) => s.citable && !used.has(s.index));
  if (picked.length === 0) blocks.push({ type: 'text', text: `None of the documents addresses ${focusOf(ev.ctx.u)}. ` });
  else if (ev.focused)
    for (const s of unused)
      blocks.push({ type: 'text', text: `${s.title ? `"${s.title}"` : `Document ${s.index + 1}`} is not relevant to this question. ` });
  const last = blocks.at(-1)!;
  last.text = last.text.trimEnd();
  return blocks;
}

function prose(ev: Evidence, purpose: 'summary' | 'answer'): string {
  const { u } = ev.ctx;
  if (!ev.relevant())
    return ev.sentences.length === 0
      ? noMaterialAnswer(u.question)
      : `The material does not address ${focusOf(u)}: it covers ${ev.aboutMaterial()}.`;
  const quotes = ev.quotes(purpose);
  const text = u.constraints.bullets ? quotes.map((q) => `- ${q}`).join('\n') : quotes.join(' ');
  return limitWords(text, u.constraints.maxWords);
}

function extraction(ev: Evidence): Record<string, unknown> {
  const { u } = ev.ctx;
  const keys = u.keys.map(snakeKey);
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = ev.field(key) ?? null;
  return out;
}

/**
 * A question as search queries: one per independent part (the clauses a tool plan would split it
 * into), each without its question words, at most the number the instructions allow ("at most 3").
 */
function searchQueries(question: string, instructions: string): string[] {
  const most = Number(/\b(?:at most|up to|no more than)\s+(\d+)\b/i.exec(instructions)?.[1] ?? 5);
  const query = (clause: string) =>
    topicOf(clause)
      .replace(
        /^(?:long|much|many|often|soon|far)\s+(?:(?:do|does|did|is|are|will|can|would|should|until|before)\s+)?(?:(?:a|an|the)\s+)?/i,
        '',
      )
      .replace(/\s+/g, ' ')
      .trim();
  const queries = [...new Set(splitClauses(question).map(query))].filter(Boolean);
  return (queries.length > 0 ? queries : [question.trim()]).slice(0, Math.max(1, most));
}

/** The JSON value of the answer, when the request asks for JSON. */
function jsonValue(ev: Evidence): unknown {
  const { u } = ev.ctx;
  if (u.schema) return fillSchema(u.schema, ev);
  if (u.template) return fillTemplate(u.template, ev);
  switch (u.task) {
    case 'classify':
      return { label: ev.label().label };
    case 'judge': {
      const v = ev.verdict()!;
      return { winner: v.label, reasons: v.reasons };
    }
    case 'extract':
      return extraction(ev);
    case 'answer':
      return { answer: summaryOf(ev, 'answer') };
    default:
      return { summary: summaryOf(ev, 'summary'), points: ev.relevant() ? ev.quotes('summary') : [] };
  }
}

function wantsJson(u: Understanding): boolean {
  return Boolean(u.schema || u.template || u.constraints.json || (u.task === 'extract' && /\bjson\b/i.test(u.instructions)));
}

/** The answer as text blocks (one, unless documents are cited). */
export function answerTask(ctx: TaskContext): TextBlock[] {
  const { u } = ctx;
  const ev = new Evidence(ctx);
  const invalid = ctx.forced.answer === 'invalid';
  if (wantsJson(u)) {
    const json = JSON.stringify(jsonValue(ev));
    // Invalid: the object stops half-way, as a model cut off or confused would leave it.
    return [{ type: 'text', text: invalid ? json.slice(0, Math.max(2, Math.floor(json.length / 2))) : json }];
  }
  if (invalid)
    return [{ type: 'text', text: u.task === 'classify' ? "I can't tell which of those this is." : "I'm not able to answer that." }];
  const text = (s: string): TextBlock[] => [{ type: 'text', text: s }];
  switch (u.task) {
    case 'classify':
      return text(formatLabel(ev.label().label, u));
    case 'judge': {
      const v = ev.verdict()!;
      return text(`Verdict: ${v.label}\n\n${v.reasons.map((r) => `- ${r}`).join('\n')}`);
    }
    case 'extract': {
      const fields = extraction(ev);
      return text(
        Object.entries(fields)
          .map(([k, v]) => `${k}: ${v === null ? '(not found)' : String(v)}`)
          .join('\n'),
      );
    }
    case 'queries':
      return text(searchQueries(u.question, u.instructions).join('\n'));
    case 'recall':
      return text(recall(u.question, u.history) ?? "You haven't told me that in this conversation.");
    case 'summarize':
    case 'answer':
      if (u.sources.some((s) => s.citable)) return citedBlocks(ev, u.task === 'summarize' ? 'summary' : 'answer');
      return text(prose(ev, u.task === 'summarize' ? 'summary' : 'answer'));
    case 'edit':
      return text(editDraft(u.sources.map((s) => s.text).join('\n\n')));
    case 'research':
      return text(researchNotes(u.question, ctx.profile.quality));
    case 'write': {
      if (u.sources.length === 0) return text(noMaterialAnswer(u.question));
      const notes = u.sources.find((s) => /notes/i.test(s.title ?? ''));
      return text(notes ? articleFrom(u.question, notes.text) : reportFrom(u.sources, ctx.profile.quality));
    }
    default:
      if (u.sources.length > 0) return text(prose(ev, 'summary'));
      if (u.history.length > 0) {
        const remembered = recall(u.question, u.history);
        if (remembered) return text(remembered);
      }
      return text(noMaterialAnswer(u.question));
  }
}
