/**
 * Reads what the Elasticsearch plan compares against: the spec hashes in `_meta` of our ILM
 * policy and templates, what each search alias resolves to (and the mapping hash of its
 * indices), and whether the log data stream exists, with its backing indices' mappings and
 * replica setting.
 */
import type { Client } from '@elastic/elasticsearch';
import { unlessMissing } from '../../lib/db/elastic/client.js';
import { SEARCH_INDICES, type SearchIndexKey } from '../../lib/db/elastic/index-specs.js';
import type { LiveElastic, LiveSearchIndex } from './plan.js';

type Meta = { spec_hash?: unknown } | undefined;
const hashOf = (m: Meta) => (typeof m?.spec_hash === 'string' ? m.spec_hash : undefined);

async function searchIndex(client: Client, alias: string): Promise<LiveSearchIndex> {
  const found = await unlessMissing(client.indices.get({ index: alias }));
  if (!found || Object.keys(found).length === 0) {
    // allow_no_indices (the default): a pattern matching nothing is an empty answer.
    const versions = await client.indices.get({ index: `${alias}-v*`, expand_wildcards: 'all' });
    return { kind: 'missing', orphans: Object.keys(versions).sort() };
  }
  if (alias in found) return { kind: 'index' };
  return {
    kind: 'alias',
    indices: Object.entries(found).map(([name, state]) => {
      const built = state.mappings?._meta as
        | { mapping_hash?: unknown; analysis_hash?: unknown }
        | undefined;
      const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
      return {
        name,
        mappingHash: text(built?.mapping_hash),
        analysisHash: text(built?.analysis_hash),
      };
    }),
  };
}

/**
 * Templates are listed by wildcard (nova-*, nova_*): a comma list with one missing name is a
 * 404 for all of them.
 */
export async function inspectElastic(
  client: Client,
  names: {
    lifecycle: string;
    dataStream: string;
  },
): Promise<LiveElastic> {
  const [policies, components, templates, stream, streamAsIndex] = await Promise.all([
    unlessMissing(client.ilm.getLifecycle({ name: names.lifecycle })),
    unlessMissing(client.cluster.getComponentTemplate({ name: 'nova-*' })),
    unlessMissing(client.indices.getIndexTemplate({ name: 'nova_*' })),
    unlessMissing(client.indices.getDataStream({ name: names.dataStream })),
    client.indices.exists({ index: names.dataStream }),
  ]);
  const lifecycle = new Map<string, string | undefined>();
  for (const [name, entry] of Object.entries(policies ?? {})) {
    lifecycle.set(name, hashOf(entry.policy?._meta as Meta));
  }
  const componentTemplates = new Map(
    (components?.component_templates ?? []).map((t) => [
      t.name,
      hashOf(t.component_template._meta as Meta),
    ]),
  );
  const indexTemplates = new Map(
    (templates?.index_templates ?? []).map((t) => [t.name, hashOf(t.index_template._meta as Meta)]),
  );
  const keys = Object.keys(SEARCH_INDICES) as SearchIndexKey[];
  const resolved = await Promise.all(keys.map((key) => searchIndex(client, SEARCH_INDICES[key])));
  const hasStream = (stream?.data_streams ?? []).length > 0;
  const [streamMappings, streamSettings] = hasStream
    ? await Promise.all([
        client.indices.getMapping({ index: names.dataStream }),
        client.indices.getSettings({
          index: names.dataStream,
          name: 'index.auto_expand_replicas',
          flat_settings: true,
        }),
      ])
    : [];
  return {
    lifecycle,
    componentTemplates,
    indexTemplates,
    searchIndices: Object.fromEntries(keys.map((key, i) => [key, resolved[i]])) as Record<
      SearchIndexKey,
      LiveSearchIndex
    >,
    dataStream: hasStream ? 'present' : streamAsIndex ? 'index' : 'missing',
    ...(streamMappings
      ? {
          dataStreamMappings: Object.fromEntries(
            Object.entries(streamMappings).map(([index, { mappings }]) => [index, mappings]),
          ),
        }
      : {}),
    ...(streamMappings && streamSettings
      ? {
          // Every backing index, from the mappings answer: a settings answer filtered by name
          // leaves out an index that lacks the setting (GetSettingsResponse skips indices
          // whose filtered settings are empty), which is exactly the one to fix.
          dataStreamReplicas: Object.fromEntries(
            Object.keys(streamMappings).map((index) => {
              const value = (
                streamSettings[index]?.settings as Record<string, unknown> | undefined
              )?.['index.auto_expand_replicas'];
              return [index, typeof value === 'string' ? value : undefined];
            }),
          ),
        }
      : {}),
  };
}
