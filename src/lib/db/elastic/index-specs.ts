/**
 * What the search cluster should contain: analysis settings, mappings, component and
 * composable index templates, and the ILM policy of the log data stream. Plain data typed by
 * the client's own request types (from Elasticsearch's API specification), so the compiler
 * checks every body. `nova bootstrap elastic` reconciles a cluster to these specs.
 *
 * Choices (Elasticsearch 8 reference, and the traps in shared/PITFALLS.md):
 * - Each mappings component template carries the analysis settings its fields use:
 *   Elasticsearch validates a component template on its own, with its own settings only
 *   (MetadataIndexTemplateService.addComponentTemplate → validateTemplate), so an analyzer
 *   defined in another component is "not configured" there and the PUT is refused.
 * - No field-level `boost` in mappings (rejected on 8.x): weights are applied at query time.
 * - Patterns nova_tickets-*, nova_kb-*, nova_ai_context-* and nova_logs cannot collide with
 *   the built-in logs-*-* / metrics-*-* templates; priority 600 (above the built-ins' 100-200)
 *   keeps them first even if someone adds a broad pattern.
 * - Search indices are versioned concrete indices (nova_tickets-v1) behind an alias
 *   (nova_tickets), so a mapping change is a reindex and an atomic alias swap.
 * - `auto_expand_replicas: 0-1` on every index, search and log: green on a single node, one
 *   replica on a cluster.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { TelemetryCollection } from '../../telemetry/collections.js';

export const TEMPLATE_PRIORITY = 600;
export const LOGS_DATA_STREAM = 'nova_logs';
export const LOGS_POLICY = 'nova_logs';

/** The searchable entities: alias (what queries use) and template name. */
export const SEARCH_INDICES = {
  tickets: 'nova_tickets',
  kb: 'nova_kb',
  ai_context: 'nova_ai_context',
} as const;
export type SearchIndexKey = keyof typeof SEARCH_INDICES;

/** The concrete index behind an alias: nova_tickets-v3. */
export const versionedIndex = (alias: string, version: number) => `${alias}-v${version}`;

export const ANALYSIS: estypes.IndicesIndexSettingsAnalysis = {
  filter: {
    nova_english_stemmer: { type: 'stemmer', language: 'light_english' },
  },
  analyzer: {
    /** Full text: words, lower case, accents folded, light English stemming. */
    nova_text: {
      type: 'custom',
      tokenizer: 'standard',
      filter: ['lowercase', 'asciifolding', 'nova_english_stemmer'],
    },
  },
  normalizer: {
    /** Keywords compared without case or accents (ticket keys, categories, tags). */
    nova_keyword: { type: 'custom', filter: ['lowercase', 'asciifolding'] },
  },
};

const keyword: estypes.MappingProperty = { type: 'keyword' };
const normalized: estypes.MappingProperty = { type: 'keyword', normalizer: 'nova_keyword' };
const date: estypes.MappingProperty = { type: 'date' };
const text: estypes.MappingProperty = { type: 'text', analyzer: 'nova_text' };
/** Titles: full text, an exact keyword for sorting, and completion suggestions. */
const title: estypes.MappingProperty = {
  type: 'text',
  analyzer: 'nova_text',
  fields: { raw: { type: 'keyword', ignore_above: 256 } },
};
/**
 * Title suggestions. A suggester cannot run a filter query, so each input carries the
 * audiences allowed to see it (category context, see viewer.ts) and every request names one.
 * The standard analyzer, not the completion field's default `simple`, which keeps letters
 * only: ticket key T-000123 would be indexed as `t` (every key alike) and "Error 809" as
 * `error`.
 */
const suggest: estypes.MappingProperty = {
  type: 'completion',
  analyzer: 'standard',
  contexts: [{ name: 'audience', type: 'category' }],
};

export const TICKET_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    key: normalized,
    title,
    description: text,
    status: keyword,
    priority: keyword,
    /** urgent 4 ... low 1: "priority" sorts by severity, not alphabetically. */
    priority_rank: { type: 'byte' },
    category: normalized,
    tags: normalized,
    requester_id: keyword,
    assignee_id: keyword,
    created_at: date,
    updated_at: date,
    resolved_at: date,
    version: { type: 'long' },
    suggest,
  },
};

export const KB_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    slug: keyword,
    title,
    summary: text,
    content: text,
    category: normalized,
    tags: normalized,
    status: keyword,
    visibility: keyword,
    author_id: keyword,
    published_at: date,
    created_at: date,
    updated_at: date,
    version: { type: 'long' },
    suggest,
  },
};

export const aiContextMappings = (dims: number): estypes.MappingTypeMapping => ({
  dynamic: 'strict',
  properties: {
    id: keyword,
    source_type: keyword,
    source_id: keyword,
    title,
    content: text,
    /** Who may see it and how it is filtered: copied from the source (see viewer.ts). */
    visibility: keyword,
    category: normalized,
    tags: normalized,
    embedding: { type: 'dense_vector', dims, index: true, similarity: 'cosine' },
    created_at: date,
    updated_at: date,
  },
});

/**
 * Log text: searchable by word (ECS's match_only_text), and as `<field>.keyword` for the
 * terms and top-values a dashboard needs ("top error messages"); longer values are left out
 * of the keyword only.
 */
const logText: estypes.MappingProperty = {
  type: 'match_only_text',
  fields: { keyword: { type: 'keyword', ignore_above: 1024 } },
};

/**
 * Elastic Common Schema fields of telemetry events, exactly those ecs.ts emits (a unit test
 * holds the two together). Everything a dashboard groups, filters or measures by is
 * aggregatable: keyword, long (event.duration in nanoseconds, status codes, result counts)
 * or date. `dynamic: false`: an unexpected field is kept in _source but not indexed, so a
 * caller's free-form details can never explode the mapping; `details` is one flattened
 * field (`details.<key>` aggregates as keyword). The stack trace is kept for reading only.
 */
export const LOGS_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: false,
  properties: {
    '@timestamp': date,
    message: logText,
    event: {
      properties: {
        id: keyword,
        dataset: keyword,
        action: keyword,
        outcome: keyword,
        duration: { type: 'long' },
      },
    },
    service: { properties: { name: keyword } },
    log: { properties: { level: keyword } },
    http: {
      properties: {
        request: { properties: { id: keyword, method: keyword } },
        response: { properties: { status_code: { type: 'long' } } },
      },
    },
    url: { properties: { path: keyword } },
    user: { properties: { id: keyword } },
    trace: { properties: { id: keyword } },
    error: {
      properties: {
        type: keyword,
        message: logText,
        code: keyword,
        stack_trace: { type: 'keyword', index: false, doc_values: false },
      },
    },
    search: {
      properties: { scope: keyword, query: keyword, result_count: { type: 'long' } },
    },
    entity: { properties: { type: keyword, id: keyword } },
    details: { type: 'flattened' },
  },
};

/** The analysis settings a mappings component that uses nova_text / nova_keyword carries. */
const analyzed: estypes.IndicesIndexSettings = { analysis: ANALYSIS };

/**
 * Replicas sized for the cluster, on every index we create: none on one node (which could
 * never place a replica, so the cluster would stay yellow), one from two nodes on.
 * Elasticsearch's own default is one replica (IndexMetadata.INDEX_NUMBER_OF_REPLICAS_SETTING).
 */
export const AUTO_EXPAND_REPLICAS = '0-1';

const SEARCH_SETTINGS: estypes.IndicesIndexSettings = {
  number_of_shards: 1,
  auto_expand_replicas: AUTO_EXPAND_REPLICAS,
};

export interface ComponentTemplateSpec {
  name: string;
  template: estypes.IndicesIndexState;
}

export interface IndexTemplateSpec {
  name: string;
  index_patterns: string[];
  composed_of: string[];
  priority: number;
  data_stream?: estypes.IndicesDataStreamVisibility;
  template?: estypes.IndicesPutIndexTemplateIndexTemplateMapping;
}

export interface ElasticSpecs {
  lifecycle: { name: string; policy: estypes.IlmPolicy };
  componentTemplates: ComponentTemplateSpec[];
  indexTemplates: IndexTemplateSpec[];
}

/** Days, for ILM's min_age. */
const days = (ms: number) => `${Math.max(1, Math.ceil(ms / 86_400_000))}d`;

/**
 * The whole desired state. The log data stream is one stream for every event type (Kibana
 * reads one data view); its ILM deletes after the longest MongoDB retention, so no event
 * type leaves Elasticsearch before it leaves MongoDB.
 */
export function elasticSpecs(options: {
  embeddingDims: number;
  retentionMs: Readonly<Record<TelemetryCollection, number>>;
}): ElasticSpecs {
  const retention = Math.max(...Object.values(options.retentionMs));
  const searchTemplate = (alias: string, mappings: string): IndexTemplateSpec => ({
    name: alias,
    index_patterns: [`${alias}-*`],
    composed_of: [mappings],
    priority: TEMPLATE_PRIORITY,
    template: { settings: SEARCH_SETTINGS },
  });
  return {
    lifecycle: {
      name: LOGS_POLICY,
      policy: {
        phases: {
          hot: {
            actions: { rollover: { max_primary_shard_size: '50gb', max_age: '1d' } },
          },
          delete: { min_age: days(retention), actions: { delete: {} } },
        },
      },
    },
    componentTemplates: [
      {
        name: 'nova-tickets-mappings',
        template: { settings: analyzed, mappings: TICKET_MAPPINGS },
      },
      { name: 'nova-kb-mappings', template: { settings: analyzed, mappings: KB_MAPPINGS } },
      {
        name: 'nova-ai-context-mappings',
        template: { settings: analyzed, mappings: aiContextMappings(options.embeddingDims) },
      },
      { name: 'nova-logs-mappings', template: { mappings: LOGS_MAPPINGS } },
      {
        name: 'nova-logs-settings',
        template: {
          settings: {
            index: { lifecycle: { name: LOGS_POLICY }, auto_expand_replicas: AUTO_EXPAND_REPLICAS },
          },
        },
      },
    ],
    indexTemplates: [
      searchTemplate(SEARCH_INDICES.tickets, 'nova-tickets-mappings'),
      searchTemplate(SEARCH_INDICES.kb, 'nova-kb-mappings'),
      searchTemplate(SEARCH_INDICES.ai_context, 'nova-ai-context-mappings'),
      {
        name: LOGS_DATA_STREAM,
        index_patterns: [LOGS_DATA_STREAM],
        composed_of: ['nova-logs-mappings', 'nova-logs-settings'],
        priority: TEMPLATE_PRIORITY,
        data_stream: {},
      },
    ],
  };
}

/** The mappings a search index is built from, for detecting a change that needs a reindex. */
export function searchMappings(
  key: SearchIndexKey,
  embeddingDims: number,
): estypes.MappingTypeMapping {
  if (key === 'tickets') return TICKET_MAPPINGS;
  if (key === 'kb') return KB_MAPPINGS;
  return aiContextMappings(embeddingDims);
}
