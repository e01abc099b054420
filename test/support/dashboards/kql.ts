/**
 * The fields a KQL query names, found simply: `field:`, `field <`, `field >=`… outside quoted
 * strings. Not a KQL parser: enough to tell a query that names a field the index lacks, or
 * compares a keyword with `>=`.
 */
export interface KqlClause {
  field: string;
  /** `:` matches a value; the others compare (range). */
  operator: ':' | '<' | '<=' | '>' | '>=';
  /** The first token after the operator (unquoted), e.g. `api_usage`. */
  value: string;
}

const CLAUSE = /(?<![^\s(])([A-Za-z_@][\w.@*-]*)\s*(<=|>=|<|>|:)\s*([^\s()]*)/g;

export function kqlClauses(query: string): KqlClause[] {
  // Quoted values may hold anything, colons included: blank them, keeping the positions.
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, (s) => `"${'_'.repeat(s.length - 2)}"`);
  return [...unquoted.matchAll(CLAUSE)].map((m) => ({
    field: m[1] as string,
    operator: m[2] as KqlClause['operator'],
    value: m[3] as string,
  }));
}
