/**
 * Reciprocal rank fusion (Cormack, Clarke, Büttcher, SIGIR 2009): each list contributes
 * 1 / (k + rank) to an id's score, so agreement between lexical and semantic rankings
 * wins and neither list's raw scores (BM25 vs cosine, not comparable) matter. Computed here
 * rather than with Elasticsearch's `rank: { rrf }`, which needs a paid licence on 8.x.
 */
export const RRF_K = 60;

export interface Fused {
  id: string;
  score: number;
  /** 1-based rank in each input list; null where the id is absent. */
  ranks: (number | null)[];
}

export function reciprocalRankFusion(lists: readonly (readonly string[])[], k = RRF_K): Fused[] {
  const fused = new Map<string, Fused>();
  lists.forEach((list, which) => {
    const seen = new Set<string>();
    list.forEach((id, position) => {
      if (seen.has(id)) return; // a duplicate in one list counts once, at its best rank
      seen.add(id);
      let entry = fused.get(id);
      if (!entry) {
        entry = { id, score: 0, ranks: lists.map(() => null) };
        fused.set(id, entry);
      }
      entry.ranks[which] = position + 1;
      entry.score += 1 / (k + position + 1);
    });
  });
  // Ties (equal scores) keep first-seen order: Array.prototype.sort is stable.
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
