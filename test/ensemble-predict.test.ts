/**
 * The benchmark's prediction of an ensemble's accuracy (predictAccuracy), against the closed forms
 * it must reduce to and against the vote rules it shares with the workflow (countVotes, labelOf).
 */
import { describe, expect, it } from 'vitest';
import { countVotes, labelOf, predictAccuracy } from '../src/shared/ensemble';

describe('predictAccuracy', () => {
  it('gives the two-label (coinciding) 3-vote error 3p² − 2p³', () => {
    for (const p of [0.05, 0.15, 0.3]) expect(1 - predictAccuracy([p, p, p], 2).vote).toBeCloseTo(3 * p ** 2 - 2 * p ** 3, 12);
  });

  it('does better with more labels, as wrong votes split; a member alone is 1 − p', () => {
    const two = predictAccuracy([0.15, 0.08, 0.04], 2).vote;
    const five = predictAccuracy([0.15, 0.08, 0.04], 5).vote;
    expect(five).toBeGreaterThan(two);
    // Five labels, equal rates p, worked out by hand: two wrong members on the same label (1/4) outvote
    // the right one; two on different labels make a three-way tie that the earliest member settles —
    // wrongly when it is one of the two (2 of the 3 pairs); three wrong members are never right.
    const p = 0.1;
    const coinciding = 3 * p ** 2 * (1 - p) * (1 / 4);
    const splitTieLost = 2 * p ** 2 * (1 - p) * (3 / 4);
    expect(1 - predictAccuracy([p, p, p], 5).vote).toBeCloseTo(coinciding + splitTieLost + p ** 3, 12);
    expect(predictAccuracy([0.2, 0], 5).vote).toBeCloseTo(0.8, 12); // a 1–1 tie goes to the earliest member
  });

  it('predicts a judge that decides only where members disagree', () => {
    // A perfect judge is right whenever any member was; a useless one only when all agree on the right label.
    const rates = [0.15, 0.08, 0.04];
    const anyRight = 1 - rates.reduce((x, p) => x * p, 1);
    expect(predictAccuracy(rates, 5, 0).judge).toBeCloseTo(anyRight, 12);
    const unanimous = rates.reduce((x, p) => x * (1 - p), 1);
    expect(predictAccuracy(rates, 5, 1).judge).toBeCloseTo(unanimous, 12);
  });
});

describe('the vote', () => {
  it('counts labels, and breaks a tie by the earliest member', () => {
    expect(countVotes(['a', 'b', 'a'])).toEqual({ label: 'a', counts: { a: 2, b: 1 } });
    expect(countVotes(['b', 'a'])).toEqual({ label: 'b', counts: { b: 1, a: 1 }, tie: ['b', 'a'] });
    expect(countVotes(['c', 'a', 'b', 'a', 'b'])).toMatchObject({ label: 'a', tie: ['a', 'b'] });
    expect(countVotes([])).toEqual({ counts: {} });
  });

  it('reads a label from a reply: exact, quoted, in a sentence when only one is named', () => {
    const labels = ['billing', 'technical_issue', 'account'];
    expect(labelOf('billing', labels)).toBe('billing');
    expect(labelOf(' "Technical_Issue". ', labels)).toBe('technical_issue');
    expect(labelOf('This is about the account.', labels)).toBe('account');
    expect(labelOf('billing or account', labels)).toBeUndefined();
    expect(labelOf("I can't tell which of those this is.", labels)).toBeUndefined();
  });
});
