// Classification: exactly one of the offered labels. The right label is the registered one when the
// text belongs to a labelled set the simulator was given, else the label whose cue words the text
// shares most (the label's own words plus a small lexicon for common support, sentiment and
// routing labels). Whether this model gets it wrong, and which wrong label it says, is the
// error model's decision (see mind.ts), so error rates are exact on registered sets.
import type { DecisionKind, Mind, RegisteredItem } from './mind';
import { contentStems } from './text';

const LEXICON: [RegExp, string][] = [
  [
    /bill|invoice|payment|charge|factur|pago|zahlung/,
    'invoice invoices charge charged charges payment payments pay paid bill billed billing card credit subscription fee fees receipt overcharged price pricing plan renewal',
  ],
  [
    /tech|bug|issue|error|support|incident|panne|fallo/,
    'error errors crash crashes crashed bug bugs broken fail fails failing failed working loading load slow timeout down outage app website page install update sync freeze freezes blank',
  ],
  [
    /account|login|access|auth|compte|cuenta|konto/,
    'password login log sign signin username profile account locked lock reset two-factor 2fa verification access email address',
  ],
  [
    /ship|deliver|order|logistic|livraison|envío|envio|versand/,
    'shipping ship shipped delivery deliver delivered package parcel tracking track courier arrived arrive late lost dispatch carrier',
  ],
  [/return|refund|exchange/, 'return returns returned refund refunds exchange send back money back damaged'],
  [/sales|pricing|quote|upgrade/, 'quote pricing plan plans upgrade discount demo enterprise seats licence license buy purchase trial'],
  [/cancel|churn/, 'cancel cancellation cancelling unsubscribe close terminate leave'],
  [
    /feedback|praise|compliment|suggest/,
    'love lovely great thanks thank suggestion suggest feature idea wish would nice compliment compliments beautiful excellent kind perfect keep',
  ],
  [/complaint/, 'complaint complain unacceptable terrible awful disappointed angry rude'],
  [/spam|junk/, 'win winner prize free money click offer lottery crypto congratulations claim urgent wire'],
  [/urgent|critical|high|p1/, 'urgent asap immediately emergency critical down outage blocked cannot production'],
  [/^pos|happy|good/, 'love great excellent happy amazing good thanks fantastic wonderful perfect pleased recommend best delighted'],
  [/^neg|unhappy|bad/, 'terrible awful bad hate broken worst disappointed angry poor slow useless never waste unacceptable'],
  [/^yes$|^true$/, 'yes correct true does is'],
  [/^no$|^false$/, 'no not never none false'],
];

const FALLBACK_LABEL = /^(?:other|others|general|misc|miscellaneous|unknown|none|neutral|n\/a|unclassified)$/i;

function cues(label: string): Set<string> {
  const own = label.replace(/[_-]+/g, ' ');
  const extra = LEXICON.filter(([re]) => re.test(label.toLowerCase())).map(([, words]) => words);
  return new Set(contentStems([own, ...extra].join(' ')));
}

/** The label whose cues the text shares most; ties go to the earlier label, nothing at all to an "other"-like label. */
export function heuristicLabel(text: string, labels: string[]): string {
  const stems = contentStems(text);
  const scores = labels.map((label) => {
    const c = cues(label);
    return stems.reduce((sum, s) => sum + (c.has(s) ? 1 : 0), 0);
  });
  const best = Math.max(...scores);
  if (best === 0) return labels.find((l) => FALLBACK_LABEL.test(l)) ?? labels[0]!;
  return labels[scores.indexOf(best)]!;
}

export interface Decision {
  /** What the model says. */
  label: string;
  /** What it should have said. */
  right: string;
  wrong: boolean;
}

export interface DecideInput {
  mind: Mind;
  model: string;
  /** The text being classified: its identity for the error model. */
  item: string;
  /** The whole prompt, to find a registered item in. */
  prompt: string;
  forced?: 'right' | 'wrong' | 'invalid';
  sample?: number;
  /** A verdict among candidates (judge.ts) rather than a label. */
  kind?: DecisionKind;
}

/**
 * A decision among `options` whose right answer is `right` — or, on a registered item, the option
 * that is its label (`gold` names it when the options are not the labels themselves) — after the
 * error model.
 */
export function decide(options: string[], right: string, d: DecideInput, registered?: RegisteredItem, goldOption?: string): Decision {
  const gold = goldOption ?? (registered ? options.find((o) => o.toLowerCase() === registered.item.label.toLowerCase()) : undefined);
  const correct = gold ?? right;
  const key = registered ? registered.item.text : d.item;
  const wrong =
    d.forced === 'wrong' || (d.forced !== 'right' && d.mind.isWrong(d.model, key, gold ? registered : undefined, d.sample, d.kind));
  return { label: wrong ? d.mind.wrongChoice(options, correct, d.model, key, d.sample) : correct, right: correct, wrong };
}

/** One of `labels` for `d.item`. */
export function classify(labels: string[], d: DecideInput): Decision {
  const registered = d.mind.lookup(d.prompt);
  return decide(labels, heuristicLabel(d.item, labels), d, registered);
}
