// The error model over the model table's personalities (models.ts): a fast, cheap model is wrong
// more often than a capable one, and every "wrong" is decided by construction rather than by luck,
// so a benchmark of ensembles measures the pattern, not the seed:
//
// - On a registered labelled set of N items, model m is wrong on exactly round(p_m · N) items.
//   Which ones: the items with the lowest z_i = √ρ·g_shared(i) + √(1−ρ)·g_m(i), where the g are
//   standard normals drawn from a hash of the seed, the set, the model and the item. With ρ = 0
//   (the default) two models' error sets are independent random subsets; with ρ = 1 they nest.
// - Outside a registered set the same z, computed for the item's text, decides by Φ(z) < p, so
//   errors still happen at rate p and correlate with ρ, item by item, deterministically.
//
// Everything here is a pure function of the configuration and the request: no clock, no RNG state.
import { ModelCatalog, type Personality } from './models';
import { hashHex } from './text';
import type { AnswerMode, AnswerRule, LabelledItem, LabelledSet, SimulatorOptions } from './types';

export type Profile = Pick<Personality, 'errorRate' | 'quality'>;

/** Uniform in (0, 1) from a hash. */
function uniform(...parts: string[]): number {
  return (parseInt(hashHex(...parts).slice(0, 13), 16) + 0.5) / 2 ** 52;
}

/** A standard normal from a hash (Box–Muller). */
function gaussian(...parts: string[]): number {
  const u = uniform(...parts, 'u');
  const v = uniform(...parts, 'v');
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; error < 1.5e-7). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

const normalise = (text: string): string => text.replace(/\s+/g, ' ').trim().toLowerCase();

/** A label for an item, or a verdict among candidates (a judge's). */
export type DecisionKind = 'label' | 'verdict';

export interface RegisteredItem {
  set: LabelledSet;
  index: number;
  item: LabelledItem;
}

/** What a request may force: from `#sim answer=` / `slow_ms=` or a matching answer rule. */
export interface Forced {
  answer?: AnswerMode;
  slowMs?: number;
}

/**
 * The simulator's model table, labelled sets and answer rules, as the planner needs them: which
 * profile a model has, whether a decision should come out wrong, and what a request forces.
 */
export class Mind {
  readonly seed: number;
  private readonly correlation: number;
  private readonly sets: { set: LabelledSet; texts: string[] }[];
  private readonly rules: AnswerRule[];
  private readonly errorSets = new Map<string, Set<number>>();

  /** `models` is the server's table; alone (tests of the planner) the Mind builds one from `opts.models`. */
  constructor(
    opts: Pick<SimulatorOptions, 'seed' | 'models' | 'errorCorrelation' | 'datasets' | 'answerRules'> = {},
    private readonly models: ModelCatalog = new ModelCatalog(opts.models),
  ) {
    this.seed = opts.seed ?? 42;
    this.correlation = opts.errorCorrelation ?? 0;
    this.sets = (opts.datasets ?? []).map((set) => ({ set, texts: set.items.map((i) => normalise(i.text)) }));
    this.rules = opts.answerRules ?? [];
  }

  /** The model's error rate and quality, from its row of the model table. */
  profile(model: string): Profile {
    const { errorRate, quality } = this.models.personality(model);
    return { errorRate, quality };
  }

  /** The registered item whose text the prompt contains (the longest, when several do). */
  lookup(prompt: string): RegisteredItem | undefined {
    if (this.sets.length === 0) return undefined;
    const text = normalise(prompt);
    let best: RegisteredItem | undefined;
    for (const { set, texts } of this.sets) {
      texts.forEach((t, index) => {
        if (t.length > 0 && text.includes(t) && (!best || t.length > best.item.text.length)) best = { set, index, item: set.items[index]! };
      });
    }
    return best;
  }

  /** A model and its alias are one voter: the same model makes the same mistakes under either name. */
  private voter(model: string): string {
    return this.models.canonical(model) ?? model;
  }

  private z(scope: string, voter: string, key: string): number {
    const rho = this.correlation;
    const s = String(this.seed);
    return Math.sqrt(rho) * gaussian(s, scope, 'shared', key) + Math.sqrt(1 - rho) * gaussian(s, scope, voter, key);
  }

  /** Exactly round(p·N) items of the set, the lowest z for this voter and kind of decision. */
  private errorSet(set: LabelledSet, voter: string, p: number, kind: DecisionKind): Set<number> {
    const key = `${set.name}\u0000${voter}\u0000${p}\u0000${kind}`;
    let errors = this.errorSets.get(key);
    if (!errors) {
      const k = Math.round(p * set.items.length);
      const scope = kind === 'label' ? `set:${set.name}` : `set:${set.name}:${kind}`;
      const ranked = set.items.map((item, i) => ({ i, z: this.z(scope, voter, item.id) })).sort((a, b) => a.z - b.z || a.i - b.i);
      errors = new Set(ranked.slice(0, k).map((r) => r.i));
      this.errorSets.set(key, errors);
    }
    return errors;
  }

  /**
   * Whether this model gets the decision about `itemText` wrong. `sample` makes repeated calls to
   * one model independent voters (`#sim sample=N`). On a registered item, labelling it and judging
   * candidate labels for it are separate decisions, each wrong on exactly round(p·N) items, drawn
   * independently (as they are for texts outside a set, whose keys differ).
   */
  isWrong(model: string, itemText: string, registered?: RegisteredItem, sample = 0, kind: DecisionKind = 'label'): boolean {
    const p = this.profile(model).errorRate;
    if (p <= 0) return false;
    const id = this.voter(model);
    const voter = sample > 0 ? `${id}#${sample}` : id;
    if (registered) return this.errorSet(registered.set, voter, p, kind).has(registered.index);
    return phi(this.z('item', voter, normalise(itemText))) < p;
  }

  /** A wrong choice among `options` (never `right`), chosen per voter and item. */
  wrongChoice<T>(options: T[], right: T, model: string, itemText: string, sample = 0): T {
    const others = options.filter((o) => o !== right);
    if (others.length === 0) return right;
    const at = Math.floor(uniform(String(this.seed), 'wrong', `${this.voter(model)}#${sample}`, normalise(itemText)) * others.length);
    return others[Math.min(at, others.length - 1)]!;
  }

  /** What the first matching answer rule forces on this request (its `rate` decided by a hash of the request). */
  forced(model: string, requestText: string): Forced {
    for (const [i, rule] of this.rules.entries()) {
      if (rule.match?.model !== undefined && rule.match.model !== model) continue;
      if (rule.match?.contains !== undefined && !requestText.includes(rule.match.contains)) continue;
      if (rule.rate !== undefined && uniform(String(this.seed), 'rule', String(i), requestText) >= rule.rate) continue;
      return { answer: rule.answer, slowMs: rule.slowMs };
    }
    return {};
  }
}
