/**
 * The field types an index gets from the Elasticsearch bootstrap's specs (index-specs.ts),
 * resolved the way Elasticsearch composes them: the component templates of `composed_of` in
 * order, then the index template's own mappings, later ones winning. Multi-fields
 * (`title.raw`) are fields of their own. `index: false` makes a field unsearchable (no query
 * can name it), `doc_values: false` unaggregatable (no bucket, metric or sort can use it).
 */
import type { estypes } from '@elastic/elasticsearch';
import { type ElasticSpecs, versionedIndex } from '../../../src/lib/db/elastic/index-specs.js';

export interface Field {
  type: string;
  searchable: boolean;
  aggregatable: boolean;
}

/** Field path to its mapping: `event.duration` -> long, searchable, aggregatable. */
export type FieldTypes = Map<string, Field>;

function flatten(
  properties: Record<string, estypes.MappingProperty> | undefined,
  into: FieldTypes,
  prefix = '',
) {
  for (const [name, property] of Object.entries(properties ?? {})) {
    const path = `${prefix}${name}`;
    const sub = 'properties' in property ? property.properties : undefined;
    if (property.type && property.type !== 'object' && property.type !== 'nested') {
      const flags = property as { index?: boolean; doc_values?: boolean };
      into.set(path, {
        type: property.type,
        searchable: flags.index !== false,
        aggregatable: flags.doc_values !== false,
      });
    }
    if (sub) flatten(sub, into, `${path}.`);
    const multi = 'fields' in property ? property.fields : undefined;
    if (multi) flatten(multi, into, `${path}.`);
  }
  return into;
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

/**
 * The fields of what a data view title names: an index, a data stream or a search alias
 * (nova_tickets reads nova_tickets-v<N>, which the template's `nova_tickets-*` covers).
 * Undefined when no index template applies: Kibana would find no fields either.
 */
export function fieldsOf(specs: ElasticSpecs, title: string): FieldTypes | undefined {
  const names = title.split(',').map((n) => n.trim());
  const templates = specs.indexTemplates.filter((t) =>
    names.some((name) =>
      t.index_patterns.some((p) => glob(p).test(name) || glob(p).test(versionedIndex(name, 1))),
    ),
  );
  if (templates.length === 0) return undefined;
  const fields: FieldTypes = new Map();
  for (const template of templates) {
    for (const name of template.composed_of) {
      const component = specs.componentTemplates.find((c) => c.name === name);
      if (!component) throw new Error(`${template.name} is composed of unknown ${name}`);
      flatten(component.template.mappings?.properties, fields);
    }
    flatten(template.template?.mappings?.properties, fields);
  }
  return fields;
}
