/**
 * A Map used as a bounded least-recently-used table: a Map iterates in insertion order, so
 * re-inserting a key makes it the most recent, and the first key is the least recent.
 */

/** Sets `key` as the most recent entry of `map`, then evicts the least recent past `max`. */
export function setMostRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  // Most calls are hits in a table under its bound: no iterator for them (a hit is on the
  // path of every authenticated request).
  if (map.size <= max) return;
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}
