/**
 * A request URL's path, without its query string: what logs, spans and error messages name
 * (the query string carries search text). Without split(), which makes an array per call.
 */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
