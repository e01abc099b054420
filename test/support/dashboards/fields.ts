/**
 * Which mapping types each use of a field needs, as Elasticsearch and Lens enforce them:
 * bucketing and cardinality need doc values (keyword, numbers, dates, booleans, ips), not
 * analysed text; numeric metrics need numbers; a date histogram needs a date; a KQL clause
 * needs the field to exist, and a range (`<`, `>=`…) a number or a date.
 */
import { TELEMETRY_COLLECTIONS } from '../../../src/lib/telemetry/collections.js';
import { kqlClauses } from './kql.js';
import type { Field, FieldTypes } from './mappings.js';

const NUMERIC = [
  'long',
  'integer',
  'short',
  'byte',
  'double',
  'float',
  'half_float',
  'scaled_float',
  'unsigned_long',
];
const DATES = ['date', 'date_nanos'];
const AGGREGATABLE = ['keyword', 'constant_keyword', 'boolean', 'ip', ...NUMERIC, ...DATES];

/** Lens operationType to the mapping types its sourceField may have. */
export const OPERATION_TYPES: Record<string, readonly string[]> = {
  date_histogram: DATES,
  terms: AGGREGATABLE,
  unique_count: AGGREGATABLE,
  last_value: AGGREGATABLE,
  count: AGGREGATABLE,
  percentile: NUMERIC,
  percentile_rank: NUMERIC,
  average: NUMERIC,
  median: NUMERIC,
  sum: NUMERIC,
  min: NUMERIC,
  max: NUMERIC,
  standard_deviation: NUMERIC,
  range: NUMERIC,
};

/** Lens column dataType of a bucket on a field of this mapping type. */
export function dataTypeOf(type: string): string {
  if (NUMERIC.includes(type)) return 'number';
  if (DATES.includes(type)) return 'date';
  if (type === 'boolean' || type === 'ip') return type;
  return 'string';
}

/** The mapping of `field`; a key inside a flattened field (details.route) is a flattened one. */
export function fieldOf(fields: FieldTypes, field: string): Field | undefined {
  const direct = fields.get(field);
  if (direct) return direct;
  const parts = field.split('.');
  for (let n = parts.length - 1; n > 0; n--) {
    const parent = fields.get(parts.slice(0, n).join('.'));
    if (parent?.type === 'flattened') return parent;
  }
  return undefined;
}

/** Problems of `operation` on `field`, e.g. "percentile on error.type (keyword)". */
export function fieldProblem(
  fields: FieldTypes,
  field: string,
  operation: string,
): string | undefined {
  const allowed = OPERATION_TYPES[operation];
  if (!allowed) return `unknown operation ${operation}`;
  const mapped = fields.get(field);
  if (!mapped) return `${operation} on ${field}: no such field in the mapping`;
  if (!allowed.includes(mapped.type)) {
    return `${operation} on ${field} (${mapped.type}): needs ${allowed.join('/')}`;
  }
  if (!mapped.aggregatable) return `${operation} on ${field}: not aggregatable (doc_values: false)`;
  return undefined;
}

/** Problems of a KQL query against the fields of one data view. */
export function kqlProblems(fields: FieldTypes, query: string): string[] {
  const problems: string[] = [];
  for (const { field, operator, value } of kqlClauses(query)) {
    const names = field.includes('*')
      ? [...fields.keys()].filter((f) => new RegExp(`^${field.replaceAll('*', '.*')}$`).test(f))
      : [field];
    const mapped = names.map((name) => fieldOf(fields, name)).filter((f) => f !== undefined);
    const types = mapped.filter((f) => f.searchable).map((f) => f.type);
    if (mapped.length === 0) {
      problems.push(`query "${query}": no field ${field} in the mapping`);
      continue;
    }
    if (types.length === 0) {
      problems.push(`query "${query}": ${field} is not searchable (index: false)`);
      continue;
    }
    if (operator !== ':' && !types.some((t) => NUMERIC.includes(t) || DATES.includes(t))) {
      problems.push(`query "${query}": ${field} ${operator} needs a number or a date`);
    }
    if (
      field === 'event.dataset' &&
      !(TELEMETRY_COLLECTIONS as readonly string[]).includes(value.replace(/^"|"$/g, ''))
    ) {
      problems.push(`query "${query}": event.dataset ${value} is no telemetry collection`);
    }
  }
  return problems;
}
