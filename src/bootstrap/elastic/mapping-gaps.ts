/**
 * How an existing index's mappings fall short of the spec, and the put-mapping body that
 * closes the gap where it can be closed in place.
 *
 * Elasticsearch's merge (MapperService.merge → FieldMapper.Parameter) accepts new fields and
 * new values of updatable parameters; a field whose type or any other parameter changed is
 * refused ("Cannot update parameter [analyzer] from [a] to [b]"), and a parameter left out
 * counts as its default. So a field mapped otherwise is a conflict (a rollover onto a new
 * write index), and a put-mapping carries the missing fields alone.
 */
import type { estypes } from '@elastic/elasticsearch';

type Properties = Record<string, estypes.MappingProperty>;
type Field = Record<string, unknown>;

/**
 * Parameters a field keeps for life (FieldMapper.Parameter with updateable = false in each
 * mapper: analyzer, normalizer, index, doc_values, store, null_value, index_options,
 * similarity, term_vector, …), with their defaults as GET _mapping leaves them out.
 */
const FIXED_PARAMETERS: Readonly<Record<string, unknown>> = {
  analyzer: undefined,
  normalizer: undefined,
  index: true,
  doc_values: true,
  store: false,
  null_value: undefined,
  index_options: undefined,
  similarity: undefined,
  term_vector: undefined,
  dims: undefined,
  format: undefined,
};

/** The first fixed parameter `want` sets to other than what `have` holds, or undefined. */
function changedParameter(want: Field, have: Field): string | undefined {
  return Object.keys(FIXED_PARAMETERS).find(
    (key) =>
      key in want && (have[key] ?? FIXED_PARAMETERS[key]) !== (want[key] ?? FIXED_PARAMETERS[key]),
  );
}

/**
 * The dotted paths of fields (and multi-fields) `live` lacks, and of those it maps otherwise
 * (another type, or a fixed parameter the spec sets differently). Extra live fields are not
 * the spec's business.
 */
export function mappingGaps(
  spec: Properties,
  live: Properties | undefined,
  prefix = '',
): { missing: string[]; conflicting: string[] } {
  const gaps = { missing: [] as string[], conflicting: [] as string[] };
  for (const [name, wanted] of Object.entries(spec)) {
    const path = `${prefix}${name}`;
    const have = live?.[name] as Field | undefined;
    const want = wanted as Field;
    if (!have) {
      gaps.missing.push(path);
      continue;
    }
    if ((want.type ?? 'object') !== (have.type ?? 'object') || changedParameter(want, have)) {
      gaps.conflicting.push(path);
      continue;
    }
    for (const key of ['properties', 'fields'] as const) {
      if (!want[key]) continue;
      const inner = mappingGaps(
        want[key] as Properties,
        have[key] as Properties | undefined,
        `${path}.`,
      );
      gaps.missing.push(...inner.missing);
      gaps.conflicting.push(...inner.conflicting);
    }
  }
  return gaps;
}

/**
 * The part of `spec` that holds these dotted paths (as mappingGaps names them): objects down
 * to the missing property, and a field whose multi-field is missing whole (its other
 * parameters unchanged, as mappingGaps found them).
 */
export function pickFields(spec: Properties, paths: readonly string[]): Properties {
  const picked: Properties = {};
  for (const path of paths) {
    let from = spec;
    let into = picked;
    for (const [i, name] of path.split('.').entries()) {
      const field = from[name] as Field | undefined;
      if (!field) break;
      const next = path.split('.')[i + 1];
      const inner = field.properties as Properties | undefined;
      if (next === undefined || !inner || !(next in inner)) {
        into[name] = field as estypes.MappingProperty;
        break;
      }
      const existing = into[name] as { properties?: Properties } | undefined;
      const object = existing?.properties ? existing : { properties: {} };
      into[name] = object as estypes.MappingProperty;
      from = inner;
      into = object.properties as Properties;
    }
  }
  return picked;
}
