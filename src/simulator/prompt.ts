// Reads a request the way a model has to before it can follow it: what is instruction and what is
// material, what the task is, and what form the answer must take. Material is kept with exact
// offsets into the text it came from (a document block's data, a fenced chunk), so sentences
// quoted from it can be cited by character range. Sections are recognised by a fixed vocabulary
// of heads ("Task:", "Context:", "Answer A:", "Document \"x\":", "Result 2 (...):", fences, tags);
// anything else is read as running text. All regexes are linear: prompts can be megabytes.
import { messageText, systemText } from './text';
import type { JsonSchema, MessagesRequest, RequestMessage } from './types';

export type TaskKind =
  'judge' | 'classify' | 'extract' | 'recall' | 'summarize' | 'edit' | 'research' | 'write' | 'answer' | 'queries' | 'chat';

export interface Source {
  /** Numbering used for citations: a document block's document_index, else order of appearance. */
  index: number;
  kind: 'document' | 'section' | 'text' | 'turn' | 'system';
  title?: string;
  text: string;
  /** A document block with citations enabled. */
  citable: boolean;
  /** Chunk ids ([chunk:x]) and source labels (file:start-end) named in the section's head: metadata, never content. */
  ids: string[];
  labels: string[];
  /** Words of a file name the head gives ("of data/docs/shipping.md"): what the part is about, for relevance only. */
  context?: string;
}

export interface Candidate {
  name: string;
  text: string;
}

export interface Constraints {
  maxSentences?: number;
  maxWords?: number;
  oneWord?: boolean;
  bullets?: boolean;
  json?: boolean;
  lowercase?: boolean;
  uppercase?: boolean;
}

export interface Understanding {
  task: TaskKind;
  /** The instruction or question, without the material. */
  question: string;
  /** System prompt plus the question: where form constraints and labels are looked for. */
  instructions: string;
  sources: Source[];
  /** Earlier turns of the conversation (text only), oldest first. */
  history: { role: 'user' | 'assistant'; text: string }[];
  labels: string[];
  candidates: Candidate[];
  keys: string[];
  template?: Record<string, unknown>;
  schema?: JsonSchema;
  constraints: Constraints;
}

const MATERIAL_HEADS =
  'context|background|text|input|passage|passages|article|email|e-mail|message|ticket|review|transcript|conversation|notes|research notes|draft|documents?|sources?|source \\d+|reference(?: answer)?|chunk|result \\d+|content|report|data|excerpt|paragraph|story';
const INSTRUCTION_HEADS = 'task|question|query|topic|instructions?|labels|categories|classes|intents|keys|fields|schema|format';
const CANDIDATE_HEADS =
  '(?:answer|response|candidate|option|summary|output|completion|model|assistant|version|translation|draft)(?:[ _-](?:[A-Z]|\\d{1,2})|\\d{1,2})';
const HEADS = `${CANDIDATE_HEADS}|${INSTRUCTION_HEADS}|${MATERIAL_HEADS}`;
/** "Chunk [chunk:x] of a.md, characters 0-400:" — a head whose line ends with the colon; material follows. */
const HEAD_BLOCK = new RegExp(`^[ \\t]*(?:#{1,4}[ \\t]*)?(?:\\*\\*)?(${HEADS})\\b([^\\n]{0,8000}?)(?:\\*\\*)?:[ \\t]*$`, 'i');
/** "Task: …", "Answer A: …" — a bare head (or one quoted title) with the content on the same line. */
const HEAD_INLINE = new RegExp(`^[ \\t]*(?:\\*\\*)?(${HEADS})((?:[ \\t]+"[^"\\n]{1,80}")?)(?:\\*\\*)?:[ \\t]*(\\S[^\\n]*)$`, 'i');
const CANDIDATE_HEAD = new RegExp(`^${CANDIDATE_HEADS}$`, 'i');
const INSTRUCTION_HEAD = new RegExp(`^(?:${INSTRUCTION_HEADS})$`, 'i');

const TASK_VERB =
  /\b(?:summari[sz]e|sum up|tl;?dr|classify|categori[sz]e|label|extract|pull out|parse|judge|compare|evaluate|rate|rank|grade|choose|pick|answer|explain|describe|write|draft|compose|edit|proofread|rewrite|tighten|research|translate|list|identify|find|tell me|what|which|who|when|where|why|how)\b/i;

interface Section {
  head?: string;
  qualifier: string;
  body: string;
  /** Offset of body within the text it was cut from. */
  offset: number;
}

/** Cuts a text into head-led sections; text before the first head is the preamble (no head). */
function sections(text: string): Section[] {
  const out: Section[] = [];
  let current: Section = { qualifier: '', body: '', offset: 0 };
  let bodyStart = 0;
  let pos = 0;
  const close = (end: number): void => {
    current.body = text.slice(bodyStart, end);
    current.offset = bodyStart;
    if (current.head || current.body.trim()) out.push(current);
  };
  for (;;) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(pos, end);
    const block = line.length < 8000 ? HEAD_BLOCK.exec(line) : null;
    const inline = !block && line.length < 2000 ? HEAD_INLINE.exec(line) : null;
    if (block ?? inline) {
      close(pos);
      const m = (block ?? inline)!;
      current = { head: m[1]!.toLowerCase(), qualifier: m[2]!.trim(), body: '', offset: 0 };
      bodyStart = block ? Math.min(end + 1, text.length) : end - m[3]!.length;
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
  close(text.length);
  return out;
}

/** The part between fence lines (--- or ```), if the body is fenced; offsets kept. */
function unfence(body: string, offset: number): { text: string; offset: number } {
  const open = /^[ \t]*(?:-{3,}|```[\w-]*|"""|<{3})[ \t]*\n/m.exec(body);
  if (!open || body.slice(0, open.index).trim() !== '') return { text: body, offset };
  const start = open.index + open[0].length;
  const fence = open[0].trim().startsWith('`') ? /\n[ \t]*```[ \t]*(?:\n|$)/ : /\n[ \t]*(?:-{3,}|"""|>{3})[ \t]*(?:\n|$)/;
  const close = fence.exec(body.slice(start));
  const end = close ? start + close.index : body.length;
  return { text: body.slice(start, end), offset: offset + start };
}

const ids = (s: string): string[] => [...s.matchAll(/\[chunk:\s*([\w.:-]+?)\]/g)].map((m) => m[1]!);
const labels = (s: string): string[] => [...s.matchAll(/[\w./-]+\.(?:md|markdown|txt|html?|json|pdf):\d+-\d+/g)].map((m) => m[0]);

/** Splits a short imperative or question off the end of a material body ("…\n\nWrite the article."). */
function trailingInstruction(body: string): { material: string; instruction: string } {
  const cut = body.trimEnd().lastIndexOf('\n\n');
  if (cut < 0) return { material: body, instruction: '' };
  const tail = body.slice(cut).trim();
  if (tail.length < 160 && !tail.includes('\n') && TASK_VERB.test(tail.split(/\s+/).slice(0, 3).join(' ')))
    return { material: body.slice(0, cut), instruction: tail };
  return { material: body, instruction: '' };
}

const TAGGED =
  /<(document|context|text|article|email|message|ticket|passage|input|transcript|review|source)(?:\s[^>]*)?>([\s\S]*?)<\/\1>/gi;

function readUserText(
  text: string,
  sourceStart: number,
): { question: string; sources: Source[]; candidates: Candidate[]; lists: string[] } {
  const sources: Source[] = [];
  const candidates: Candidate[] = [];
  const question: string[] = [];
  const lists: string[] = [];
  const add = (kind: Source['kind'], body: string, title?: string, meta = ''): void => {
    const files = new Set([...meta.matchAll(/([\w-]+)\.(?:md|markdown|txt|html?|json|pdf)\b/g)].map((m) => m[1]!));
    const context = files.size === 1 ? [...files][0]!.replace(/[-_]+/g, ' ') : undefined;
    if (body.trim())
      sources.push({
        index: sourceStart + sources.length,
        kind,
        title,
        text: body,
        citable: false,
        ids: ids(meta),
        labels: labels(meta),
        context,
      });
  };
  const secs = sections(text);
  if (secs.some((s) => s.head)) {
    for (const s of secs) {
      if (!s.head) {
        const { text: inner } = unfence(s.body, s.offset);
        if (inner !== s.body) add('text', inner);
        else question.push(s.body.trim());
        continue;
      }
      if (CANDIDATE_HEAD.test(s.head)) {
        const { material, instruction } = trailingInstruction(s.body);
        if (instruction) question.push(instruction);
        candidates.push({ name: /([A-Z]|\d{1,2})$/i.exec(s.head)![1]!.toUpperCase(), text: material.trim() });
        continue;
      }
      if (INSTRUCTION_HEAD.test(s.head)) {
        if (/^(?:labels|categories|classes|intents|keys|fields)$/i.test(s.head)) lists.push(`${s.head}: ${s.body}`);
        else question.push(s.body.trim());
        continue;
      }
      const fenced = unfence(s.body, s.offset);
      const { material, instruction } = trailingInstruction(fenced.text);
      if (instruction) question.push(instruction);
      const title = /"([^"]+)"/.exec(s.qualifier)?.[1] ?? (s.qualifier && !/[[:(]/.test(s.qualifier) ? `${s.head} ${s.qualifier}` : s.head);
      add('section', material, title, s.qualifier);
    }
    return { question: question.filter(Boolean).join('\n'), sources, candidates, lists };
  }
  // No heads: tagged blocks, then fences, then "instruction: material", then paragraphs.
  let rest = text;
  for (const m of text.matchAll(TAGGED)) {
    add('text', m[2]!, m[1]!.toLowerCase());
    rest = rest.replace(m[0], ' ');
  }
  if (sources.length > 0) return { question: rest.trim(), sources, candidates, lists };
  const fenceAt = text.search(/^[ \t]*(?:-{3,}|```)/m);
  if (fenceAt >= 0) {
    const inner = unfence(text.slice(fenceAt), fenceAt);
    if (inner.offset !== fenceAt) {
      add('text', inner.text);
      const after = text.slice(inner.offset + inner.text.length).replace(/^\s*(?:-{3,}|```)[ \t]*/, '');
      return { question: `${text.slice(0, fenceAt)}\n${after}`.trim(), sources, candidates, lists };
    }
  }
  const colon = /^([^\n]{3,300}?):[ \t]*(?:\n+|[ \t]*["“'])/.exec(text);
  if (colon && TASK_VERB.test(colon[1]!) && text.length - colon[0].length > 40) {
    const body = text.slice(colon[0].length - (/["“']$/.test(colon[0]) ? 1 : 0));
    add('text', body.replace(/^["“']|["”']\s*$/g, ''));
    return { question: colon[1]!, sources, candidates, lists };
  }
  const paragraphs = text.split(/\n\s*\n/);
  if (paragraphs.length > 1 && TASK_VERB.test(paragraphs[0]!) && paragraphs[0]!.length < 400) {
    const at = text.indexOf(paragraphs[1]!);
    add('text', text.slice(at));
    return { question: paragraphs[0]!.trim(), sources, candidates, lists };
  }
  return { question: text.trim(), sources, candidates, lists };
}

/** Labels offered in `text`: "one of: a, b or c", "categories: …", a bullet list after "one of the following:". */
export function offeredLabels(text: string): string[] {
  const clean = (l: string): string =>
    l
      .replace(/^[\s"'`*“‘([-]+|[\s"'`*”’)\].,;:!?]+$/g, '')
      .replace(/^(?:the|a|an)\s+/i, '')
      .trim();
  const valid = (list: string[]): string[] | undefined => {
    const out = [...new Set(list.map(clean).filter((l) => l.length > 0 && l.length <= 40 && l.split(/\s+/).length <= 4))];
    return out.length >= 2 && out.length <= 40 ? out : undefined;
  };
  const split = (s: string): string[] => s.split(/\s*(?:,|;|\||\/|\bor\b|\band\b)\s*/i);
  const bullets =
    /(?:one of|following|labels?|categories|classes|options|intents)[^\n:]{0,40}:[ \t]*\n((?:[ \t]*(?:[-*•]|\d+[.)])[ \t]+[^\n]+\n?){2,40})/i.exec(
      text,
    );
  if (bullets) {
    const found = valid(bullets[1]!.split('\n').map((l) => l.replace(/^[ \t]*(?:[-*•]|\d+[.)])[ \t]+/, '').split(/\s+[-–—:]\s+/)[0]!));
    if (found) return found;
  }
  const yesNo = /\b(?:answer|respond|reply)(?: with| only)?(?: a)? (yes|true) or (no|false)\b/i.exec(text);
  if (yesNo) return [yesNo[1]!.toLowerCase(), yesNo[2]!.toLowerCase()];
  const inline =
    /\b(?:one of|among|choose from|pick from|either|into|as|labels?|categories|classes|intents|options|catégories|étiquettes|parmi|categorías|etiquetas|kategorien)(?![\w-])(?:\s+the\s+following)?(?:\s+(?:labels|categories|classes|options))?\s*[:-]?\s*([^\n.?!]{3,400})/gi;
  for (const m of text.matchAll(inline)) {
    const list = m[1]!
      .replace(/^.*?\b(?:one of|the following)\b\s*(?:labels|categories|classes|options)?\s*[:-]?\s*/i, '')
      .replace(/\s*\b(?:based on|for|according to|given|using|from|in|with)\b.*$/i, '');
    if (!/,|\bor\b|\|/.test(list)) continue;
    const found = valid(split(list));
    if (found) return found;
  }
  return [];
}

/** Keys an extraction asks for: "with keys a, b and c", "fields: …", "extract the a, b and c from". */
export function requestedKeys(text: string): string[] {
  const m =
    /\b(?:keys|fields|properties|columns|attributes)\b\s*(?:named|called)?\s*:?\s*([^\n.?!]{2,300})/i.exec(text) ??
    /\bextract(?:\s+the)?\s+([^\n.?!]{2,200}?)\s+(?:from|out of|in)\b/i.exec(text);
  if (!m) return [];
  const list = m[1]!.replace(/\s+(?:from|in|out of|of|for)\s+(?:this|the|that|these|those|following|below|above|it|each)\b.*$|:.*$/i, '');
  return [
    ...new Set(
      list
        .split(/\s*(?:,|;|\/|\band\b|\bor\b)\s*/i)
        .map((k) => k.replace(/^[\s"'`*(]+|[\s"'`*)]+$/g, '').replace(/^(?:the|a|an|their|its|his|her)\s+/i, ''))
        .filter((k) => /^[\w -]{1,40}$/.test(k) && k.split(/\s+/).length <= 4),
    ),
  ];
}

const WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  a: 1,
  single: 1,
};
const count = (w: string): number => WORDS[w.toLowerCase()] ?? Number(w);

export function constraintsOf(text: string): Constraints {
  const c: Constraints = {};
  const sentences =
    /\b(?:in|at most|no more than|up to|within|using|exactly|maximum of|max)\s+(one|two|three|four|five|six|seven|eight|nine|ten|a single|a|\d+)\s+(?:short\s+)?sentences?\b/i.exec(
      text,
    );
  if (sentences) c.maxSentences = count(sentences[1]!.replace(/^a single$/i, 'single'));
  else if (/\b(?:one|single)[- ]sentence\b/i.test(text)) c.maxSentences = 1;
  const words = /\b(?:in|at most|no more than|under|up to|within|fewer than|less than|maximum of|max)\s+(\d+)\s+words\b/i.exec(text);
  if (words) c.maxWords = Number(words[1]);
  if (/\b(?:one|a single|single)[- ]word\b|\bonly (?:the|a) (?:label|category|word)\b|\bjust the (?:label|category)\b/i.test(text))
    c.oneWord = true;
  if (/\bbullet(?:ed)?(?: points?| list)?\b|\bas a list\b/i.test(text)) c.bullets = true;
  if (/\b(?:be |keep it )?(?:brief|concise|terse|short)\b|\btl;?dr\b/i.test(text) && c.maxSentences === undefined) c.maxSentences = 2;
  if (/\blower[- ]?case\b/i.test(text)) c.lowercase = true;
  if (/\bupper[- ]?case\b|\bin capitals\b/i.test(text)) c.uppercase = true;
  if (
    /\b(?:respond|reply|answer|output|return|format|produce|give|write|emit)\w*\b[^.\n]{0,40}\bjson\b|\b(?:as|in) json\b|\bjson object\b|\bvalid json\b|\bjson only\b|\bonly json\b/i.test(
      text,
    )
  )
    c.json = true;
  return c;
}

/** The first `{...}` in the text that parses as a non-empty JSON object, and where it sits. */
export function jsonTemplate(text: string): { template: Record<string, unknown>; start: number; end: number } | undefined {
  for (let start = text.indexOf('{'), tries = 0; start !== -1 && tries < 50; start = text.indexOf('{', start + 1), tries++) {
    let depth = 0;
    for (let i = start; i < text.length && i - start < 4000; i++) {
      if (text[i] === '{') depth += 1;
      else if (text[i] === '}' && --depth === 0) {
        try {
          const parsed: unknown = JSON.parse(text.slice(start, i + 1));
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length > 0)
            return { template: parsed as Record<string, unknown>, start, end: i + 1 };
        } catch {
          // not JSON; keep scanning
        }
        break;
      }
    }
  }
  return undefined;
}

const hasDocuments = (m: RequestMessage): boolean => Array.isArray(m.content) && m.content.some((b) => b.type === 'document');

function detectTask(u: Omit<Understanding, 'task'>, tools: boolean): TaskKind {
  const q = u.question;
  const all = `${u.instructions}`;
  if (
    u.candidates.length >= 2 &&
    /\b(?:judge|compare|better|best|prefer|preferred|choose|pick|which (?:answer|response|candidate|one|summary|option|version)|verdict|winner|evaluate)\b/i.test(
      all,
    )
  )
    return 'judge';
  if (
    u.labels.length >= 2 &&
    /\b(?:classify|classification|categori[sz]e|category|label|intent|sentiment|route|triage|which (?:category|label|team|department)|one of|is (?:this|it) (?:a |an )?\w+ or)\b|\b(?:classe|catégor|categor|clasific|kategor|etiquet)/i.test(
      all,
    )
  )
    return 'classify';
  if (u.labels.length >= 2 && /\b(?:yes|true) or (?:no|false)\b/i.test(all)) return 'classify';
  // "Split the question into search queries, one per line": a query planner's request.
  if (/\bsearch quer(?:y|ies)\b/i.test(all) && /\b(?:split|break|decompose|divide|turn|rewrite)\b/i.test(all) && u.sources.length === 0)
    return 'queries';
  if (/\b(?:extract|pull out|parse out|fill in|capture)\b/i.test(all) || (u.keys.length > 0 && /\b(?:keys|fields)\b/i.test(all)))
    return 'extract';
  if (
    u.history.length > 0 &&
    /\b(?:my|me|i|did i|do i|am i|we)\b/i.test(q) &&
    /\?|^\s*(?:what|who|where|when|which|how|do you remember|remind me)\b/i.test(q)
  )
    return 'recall';
  if (/\b(?:summari[sz]e|summary|sum up|tl;?dr|key points|main points|overview|gist|condense|digest)\b/i.test(all)) return 'summarize';
  if (/\b(?:edit|proofread|tighten|copy-?edit|polish|revise)\b/i.test(q) && u.sources.length > 0) return 'edit';
  if (/\bresearch\b/i.test(q) && u.sources.length === 0) return 'research';
  if (/\b(?:write|draft|compose|create|produce)\b/i.test(q) && !/\?\s*$/.test(q.trim())) return 'write';
  if (u.sources.length > 0 || tools) return 'answer';
  return 'chat';
}

/** Everything the planner needs to know about what is asked, read from the request. */
export function understand(request: MessagesRequest, questionIndex: number, question: string): Understanding {
  const system = systemText(request);
  const message = request.messages[questionIndex];
  const sources: Source[] = [];
  // Document blocks keep their API document_index (their order among documents in the request).
  let documentIndex = 0;
  request.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    for (const b of m.content) {
      if (b.type !== 'document') continue;
      if (i <= questionIndex) {
        sources.push({
          index: documentIndex,
          kind: 'document',
          title: b.title,
          // Filled by validation: a text or content source's text, a PDF's text layer.
          text: b.text ?? '',
          // Plain-text documents are cited by character range; other sources are read but not cited.
          citable: b.citations?.enabled === true && b.source.type === 'text',
          ids: [],
          labels: [],
        });
      }
      documentIndex += 1;
    }
  });
  const read = readUserText(question, documentIndex);
  sources.push(...read.sources);
  const history = request.messages.slice(0, questionIndex).flatMap((m) => {
    const text = messageText(m).trim();
    return text ? [{ role: m.role, text }] : [];
  });
  const instructions = [system, read.question, ...read.lists].filter(Boolean).join('\n');
  const schema = request.output_config?.format?.schema;
  const found = jsonTemplate(read.question) ?? jsonTemplate(system);
  // Labels in the system prompt win: it is where a deployment fixes the label set (and its language).
  const labels = offeredLabels([system, ...read.lists].join('\n'));
  const base = {
    question: read.question || (message && hasDocuments(message) ? 'Summarise the documents.' : question.trim()),
    instructions,
    sources,
    history,
    labels: labels.length > 0 ? labels : offeredLabels([read.question, ...read.lists].join('\n')),
    candidates: read.candidates,
    keys: requestedKeys([read.question, ...read.lists].join('\n')),
    template: found?.template,
    schema,
    constraints: constraintsOf(instructions),
  };
  return { ...base, task: detectTask(base, (request.tools ?? []).length > 0) };
}
