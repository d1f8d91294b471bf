// What the model has to say about a request, computed once and on demand: the sentences of the
// material that answer or summarise it (and whether any bear on the task at all), the label, the
// verdict, extracted fields and what to cite. Prose, JSON templates, structured outputs and
// citation blocks are all rendered from this one evidence, so they agree with each other.
import { classify, type Decision } from './classify';
import { EntityIndex, valueForKey } from './extract';
import { judge, type Verdict } from './judge';
import type { Forced, Mind, Profile } from './mind';
import type { Source, Understanding } from './prompt';
import { answerShape, queryOf, rankSentences, selectSentences, type Query, type Ranked } from './rank';
import { flat, splitSentences, type Sentence } from './sentences';
import type { JsonSchema } from './types';

export interface TaskContext {
  u: Understanding;
  mind: Mind;
  model: string;
  profile: Profile;
  forced: Forced;
  /** `#sim sample=N`: an independent draw of the same model. */
  sample: number;
  /** Every text of the request, where registered items are looked up. */
  prompt: string;
}

/** About 600 tokens: the most an answer quotes unless the prompt asks for a length. */
const NATURAL_ANSWER_CHARS = 2400;

/** Sentences an earlier step wrote to say a chunk did not bear on the task: never material. */
export const NOT_RELEVANT = /^Not relevant to the task\b/;

/** Text as read in prose: whitespace collapsed, Markdown emphasis markers dropped. */
export const plain = (text: string): string => flat(text).replace(/\*\*|__|`/g, '');

export class Evidence {
  readonly entities = new EntityIndex();
  private selections = new Map<string, Ranked[]>();
  private decision?: Decision;
  private verdictCache?: Verdict | null;
  private relevantCache?: boolean;
  readonly query: Query;
  readonly focused: boolean;
  readonly sentences: Sentence[];

  constructor(readonly ctx: TaskContext) {
    const { u } = ctx;
    this.query = queryOf(u.question);
    const asks =
      /\?|^\s*(?:what|which|who|when|where|why|how|does|do|is|are|can|should)\b/im.test(u.question) || /\babout\b/i.test(u.question);
    const strongest = Math.max(0, ...this.query.values());
    this.focused = (u.task === 'answer' || asks) && strongest >= 1;
    this.sentences = u.sources
      .flatMap((s) => splitSentences(s.text, s.index).map((x) => (s.context ? { ...x, context: s.context } : x)))
      .filter((s) => !NOT_RELEVANT.test(s.text));
  }

  get sources(): Source[] {
    return this.ctx.u.sources;
  }

  /**
   * How much the answer quotes: a length asked for in words, else a natural length. Not the
   * request's max_tokens, which a model does not see: a longer answer is cut off (generation.ts).
   */
  private budgetChars(): number {
    const c = this.ctx.u.constraints;
    return c.maxWords ? c.maxWords * 6 : NATURAL_ANSWER_CHARS;
  }

  /** The chosen sentences: for a summary in reading order, for an answer by relevance. */
  selection(purpose: 'summary' | 'answer'): Ranked[] {
    const cached = this.selections.get(purpose);
    if (cached) return cached;
    const q = this.ctx.profile.quality;
    // Merging several results keeps the best of each, within reason.
    const merging = this.sources.length > 1 && purpose === 'summary';
    const base = purpose === 'summary' ? 2 + Math.round(4 * q) : 1 + Math.round(2 * q);
    const max = this.ctx.u.constraints.maxSentences ?? (merging ? Math.max(base, Math.min(12, this.sources.length * 2)) : base);
    const shape = answerShape(this.ctx.u.question);
    let ranked = rankSentences(
      this.sentences,
      this.focused || purpose === 'answer' ? this.query : new Map(),
      answerShape(this.ctx.u.question),
    );
    if (!this.focused && purpose === 'summary' && this.query.size > 0) {
      // A plain "summarise X" still leans a little towards X.
      const biased = rankSentences(this.sentences, this.query);
      const bias = new Map(biased.map((r) => [r.index, r.relevance]));
      const top = Math.max(1, ...bias.values());
      ranked = ranked.map((r) => ({ ...r, score: r.score * 0.8 + 0.2 * ((bias.get(r.index) ?? 0) / top) }));
    }
    if (this.ctx.forced.answer === 'wrong') ranked = ranked.map((r) => ({ ...r, score: -r.score, relevance: 1 }));
    let picked = selectSentences(ranked, {
      maxSentences: max,
      maxChars: this.budgetChars(),
      minRelevance: this.focused && this.ctx.forced.answer !== 'wrong' ? 0.5 : undefined,
      readingOrder: purpose === 'summary',
      cover: this.focused ? [...this.query].filter(([, w]) => w >= 1).map(([t]) => t) : undefined,
      eachSource: merging,
    });
    // An answer leads with the sentence shaped like what was asked (the amount, the duration).
    if (purpose === 'answer' && shape) picked = [...picked].sort((a, b) => shape(b.sentence) - shape(a.sentence));
    this.selections.set(purpose, picked);
    return picked;
  }

  /** Whether anything in the material bears on the task (always, for an unfocused summary). */
  relevant(): boolean {
    if (this.sentences.length === 0) return false;
    if (!this.focused) return true;
    if (this.ctx.u.task === 'answer' || this.ctx.u.task === 'recall') return this.selection('answer').some((r) => r.relevance >= 1);
    // Summarising a part for a task: it bears on the task when a fair share of it does, not when
    // one sentence happens to use a word of the task ("ships a laptop", "Zendesk for support").
    this.relevantCache ??= (() => {
      const ranked = rankSentences(this.sentences, this.query);
      const hits = ranked.filter((r) => r.relevance >= 1).length;
      return hits >= (ranked.length <= 2 ? 1 : Math.max(2, Math.round(ranked.length * 0.25)));
    })();
    return this.relevantCache;
  }

  /** A short description of what the material is about, for "not relevant" statements. */
  aboutMaterial(): string {
    const heading = this.sentences.find((s) => s.kind === 'heading' || s.heading);
    const title = heading ? (heading.kind === 'heading' ? heading.text : heading.heading) : this.sources.find((s) => s.title)?.title;
    if (title && !/[./\\]\w+$/.test(title)) return title.replace(/[#*]/g, '').trim().toLowerCase();
    const top = selectSentences(rankSentences(this.sentences), { maxSentences: 1, maxChars: 400 })[0];
    return top ? `"${plain(top.sentence.text).slice(0, 80)}"` : 'other matters';
  }

  quotes(purpose: 'summary' | 'answer'): string[] {
    return this.selection(purpose).map((r) => plain(r.sentence.text));
  }

  /** Sources whose sentences were used. */
  usedSources(purpose: 'summary' | 'answer' = 'summary'): Source[] {
    const used = new Set(this.selection(purpose).map((r) => r.sentence.source));
    return this.sources.filter((s) => used.has(s.index));
  }

  /** What to classify: the material, or the question without its list of labels. */
  itemText(): string {
    const material = this.sources.map((s) => s.text).join('\n');
    if (material.trim()) return material;
    let text = this.ctx.u.question;
    for (const label of this.ctx.u.labels) text = text.split(label).join(' ');
    return text;
  }

  label(options = this.ctx.u.labels): Decision {
    if (this.decision && options === this.ctx.u.labels) return this.decision;
    const d = classify(options, {
      mind: this.ctx.mind,
      model: this.ctx.model,
      item: this.itemText(),
      prompt: this.ctx.prompt,
      forced: this.ctx.forced.answer,
      sample: this.ctx.sample,
    });
    if (options === this.ctx.u.labels) this.decision = d;
    return d;
  }

  verdict(): Verdict | undefined {
    if (this.verdictCache !== undefined) return this.verdictCache ?? undefined;
    const { u } = this.ctx;
    if (u.candidates.length < 2) {
      this.verdictCache = null;
      return undefined;
    }
    const reference = u.sources
      .filter((s) => /reference|context|source|document/i.test(s.title ?? s.kind))
      .map((s) => s.text)
      .join('\n');
    this.verdictCache = judge(u.candidates, u.question, reference, this.ctx.profile.quality, {
      mind: this.ctx.mind,
      model: this.ctx.model,
      item: u.question,
      prompt: this.ctx.prompt,
      forced: this.ctx.forced.answer,
      sample: this.ctx.sample,
    });
    return this.verdictCache;
  }

  /** The text fields are extracted from: the material, else the question. */
  extractionText(): string {
    const material = this.sources.map((s) => s.text).join('\n');
    return material.trim() ? material : this.ctx.u.question;
  }

  field(key: string, schema?: JsonSchema): unknown {
    return valueForKey(key, schema, this.extractionText(), this.entities);
  }
}
