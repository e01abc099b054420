/** setMostRecent: the bounded least-recently-used table behind the principal cache and last_used_at. */
import { expect, it } from 'vitest';
import { setMostRecent } from '../../src/lib/recent-map.js';

it('makes the key the most recent and keeps at most max entries, evicting the least recent', () => {
  const map = new Map<string, number>();
  for (const [i, key] of ['a', 'b', 'c'].entries()) setMostRecent(map, key, i, 3);
  setMostRecent(map, 'a', 9, 3); // a is now the most recent: b is the oldest
  setMostRecent(map, 'd', 3, 3);
  expect([...map]).toEqual([
    ['c', 2],
    ['a', 9],
    ['d', 3],
  ]);
  setMostRecent(map, 'e', 4, 1);
  expect([...map]).toEqual([['e', 4]]);
});
