/** Reciprocal rank fusion: scores, ranks, duplicates, and the order of ties. */
import { describe, expect, it } from 'vitest';
import { RRF_K, reciprocalRankFusion } from '../../../src/lib/db/elastic/rank-fusion.js';

describe('reciprocalRankFusion', () => {
  it('uses k = 60 by default', () => {
    expect(RRF_K).toBe(60);
    const [only] = reciprocalRankFusion([['a']]);
    expect(only?.score).toBeCloseTo(1 / 61, 15);
  });

  it('sums 1 / (k + rank) over the lists, and agreement outranks a single first place', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['d', 'b', 'a'],
    ]);
    // 1/61 + 1/63 edges out 1/62 + 1/62: the reciprocal rewards a first place.
    expect(fused.map((f) => f.id)).toEqual(['a', 'b', 'd', 'c']);
    const score = Object.fromEntries(fused.map((f) => [f.id, f.score]));
    expect(score.b).toBeCloseTo(1 / 62 + 1 / 62, 15);
    expect(score.a).toBeCloseTo(1 / 61 + 1 / 63, 15);
    expect(score.d).toBeCloseTo(1 / 61, 15);
    expect(score.c).toBeCloseTo(1 / 63, 15);
    // In both lists beats first place in only one.
    expect(score.b).toBeGreaterThan(score.d ?? Number.POSITIVE_INFINITY);
  });

  it('reports each list’s 1-based rank, null where the id is absent', () => {
    const fused = reciprocalRankFusion([
      ['x', 'y'],
      ['z', 'x'],
    ]);
    expect(fused).toEqual([
      { id: 'x', score: expect.any(Number), ranks: [1, 2] },
      { id: 'z', score: expect.any(Number), ranks: [null, 1] },
      { id: 'y', score: expect.any(Number), ranks: [2, null] },
    ]);
  });

  it('has one rank per list, for any number of lists', () => {
    const fused = reciprocalRankFusion([['a'], [], ['b', 'a']]);
    expect(fused).toEqual([
      { id: 'a', score: expect.closeTo(1 / 61 + 1 / 62, 15), ranks: [1, null, 2] },
      { id: 'b', score: expect.closeTo(1 / 61, 15), ranks: [null, null, 1] },
    ]);
  });

  it('counts a duplicate within one list once, at its best rank', () => {
    const fused = reciprocalRankFusion([['a', 'b', 'a', 'a'], ['c']]);
    const a = fused.find((f) => f.id === 'a');
    expect(a?.ranks).toEqual([1, null]);
    expect(a?.score).toBeCloseTo(1 / 61, 15);
    // The duplicate still takes its position: b stays second.
    expect(fused.find((f) => f.id === 'b')?.ranks).toEqual([2, null]);
    expect(fused).toHaveLength(3);
  });

  it('returns nothing for no lists or empty lists', () => {
    expect(reciprocalRankFusion([])).toEqual([]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  it('takes a custom k', () => {
    const fused = reciprocalRankFusion(
      [
        ['a', 'b'],
        ['b', 'c'],
      ],
      1,
    );
    expect(fused.map((f) => [f.id, f.score])).toEqual([
      ['b', expect.closeTo(1 / 3 + 1 / 2, 15)],
      ['a', expect.closeTo(1 / 2, 15)],
      ['c', expect.closeTo(1 / 3, 15)],
    ]);
    // k = 0: first place in one list (1/1) ties with second place in both (1/2 + 1/2).
    const zero = reciprocalRankFusion(
      [
        ['p', 'q'],
        ['r', 'q'],
      ],
      0,
    );
    expect(zero.find((f) => f.id === 'q')?.score).toBeCloseTo(1, 15);
    expect(zero.find((f) => f.id === 'p')?.score).toBeCloseTo(1, 15);
  });

  it('keeps first-seen order among equal scores', () => {
    // Same rank in different lists: equal scores.
    const fused = reciprocalRankFusion([['a', 'b'], ['c', 'd'], ['e']]);
    expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'e', 'b', 'd']);
    expect(fused[0]?.score).toBe(fused[1]?.score);
    expect(fused[1]?.score).toBe(fused[2]?.score);

    // Reversing the lists reverses the ties, not the ranking.
    expect(reciprocalRankFusion([['e'], ['c', 'd'], ['a', 'b']]).map((f) => f.id)).toEqual([
      'e',
      'c',
      'a',
      'd',
      'b',
    ]);
  });

  it('does not change its inputs', () => {
    const lists = [
      ['a', 'b'],
      ['b', 'a'],
    ];
    const copy = structuredClone(lists);
    reciprocalRankFusion(lists);
    expect(lists).toEqual(copy);
  });
});
