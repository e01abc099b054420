/**
 * The Elasticsearch reconciliation plan: live state in, the requests that make it match the
 * specs out. Pure, so every case is a unit test.
 *
 * Elasticsearch returns templates and policies with its own normalisations (numbers as
 * strings, expanded settings), so comparing bodies would see drift that is not there. Every
 * object we write carries `_meta: { managed_by: "nova", spec_hash }`, the fingerprint of the
 * spec it was written from; an object is rewritten when its hash differs. A concrete search
 * index remembers the hash of the mappings it was built from (mapping `_meta`): when the spec
 * moves on, the plan says to run `nova reindex`, since a template change is not retroactive.
 */
import type { estypes } from '@elastic/elasticsearch';
import { fingerprint } from '../../lib/canonical.js';
import {
  ANALYSIS,
  AUTO_EXPAND_REPLICAS,
  type ElasticSpecs,
  LOGS_MAPPINGS,
  SEARCH_INDICES,
  type SearchIndexKey,
  versionedIndex,
} from '../../lib/db/elastic/index-specs.js';
import { NovaError } from '../../lib/errors.js';
import { mappingGaps, pickFields } from './mapping-gaps.js';
import type { SecurityStep } from './security.js';

export const MANAGED_BY = 'nova';

export type ElasticStep =
  | { kind: 'putLifecycle'; description: string; request: estypes.IlmPutLifecycleRequest }
  | {
      kind: 'putComponentTemplate';
      description: string;
      request: estypes.ClusterPutComponentTemplateRequest;
    }
  | {
      kind: 'putIndexTemplate';
      description: string;
      request: estypes.IndicesPutIndexTemplateRequest;
    }
  | { kind: 'createIndex'; description: string; request: estypes.IndicesCreateRequest }
  | {
      kind: 'createDataStream';
      description: string;
      request: estypes.IndicesCreateDataStreamRequest;
    }
  | { kind: 'putDataStreamMapping'; description: string; request: estypes.IndicesPutMappingRequest }
  | {
      kind: 'putDataStreamSettings';
      description: string;
      request: estypes.IndicesPutSettingsRequest;
    }
  | { kind: 'rolloverDataStream'; description: string; request: estypes.IndicesRolloverRequest }
  | SecurityStep;

export interface ElasticPlan {
  steps: ElasticStep[];
  warnings: string[];
}

/** What a search alias resolves to today. */
export type LiveSearchIndex =
  /** No alias; `orphans`: versioned indices (nova_tickets-v1 …) left without it. */
  | { kind: 'missing'; orphans: string[] }
  /** A concrete index carries the alias's name: it must be moved behind an alias. */
  | { kind: 'index' }
  | {
      kind: 'alias';
      indices: {
        name: string;
        mappingHash: string | undefined;
        /** undefined: built before the analysis hash was recorded. */
        analysisHash?: string | undefined;
      }[];
    };

export interface LiveElastic {
  /** spec_hash of each managed object found, by name (undefined: exists, not ours). */
  lifecycle: Map<string, string | undefined>;
  componentTemplates: Map<string, string | undefined>;
  indexTemplates: Map<string, string | undefined>;
  searchIndices: Record<SearchIndexKey, LiveSearchIndex>;
  dataStream: 'present' | 'missing' | 'index';
  /** The mappings of the data stream's backing indices, by index (when it is present). */
  dataStreamMappings?: Record<string, estypes.MappingTypeMapping>;
  /** Each backing index's `index.auto_expand_replicas` (undefined: not set). */
  dataStreamReplicas?: Record<string, string | undefined>;
}

const meta = (hash: string) => ({ managed_by: MANAGED_BY, spec_hash: hash });

/** The spec hash of a search index's mappings, stored in the mapping's _meta. */
export const mappingHash = (mappings: estypes.MappingTypeMapping) => fingerprint(mappings);
/**
 * The hash of the analysis settings a search index is built with (its analyzers live in the
 * index's settings, fixed at creation), stored beside mapping_hash: a changed analyzer needs a
 * reindex as much as a changed mapping does.
 */
export const analysisHash = () => fingerprint(ANALYSIS);

/** The `_meta` a search index's mappings carry: what it was built from. */
export const builtFrom = (mappings: estypes.MappingTypeMapping) => ({
  mapping_hash: mappingHash(mappings),
  analysis_hash: analysisHash(),
});

function changed(live: Map<string, string | undefined>, name: string, hash: string) {
  if (!live.has(name)) return 'create';
  return live.get(name) === hash ? undefined : 'update';
}

export function planElastic(
  specs: ElasticSpecs,
  live: LiveElastic,
  searchMappings: Record<SearchIndexKey, estypes.MappingTypeMapping>,
  dataStream: string,
): ElasticPlan {
  const plan: ElasticPlan = { steps: [], warnings: [] };
  const { name, policy } = specs.lifecycle;
  const policyHash = fingerprint(policy);
  const policyChange = changed(live.lifecycle, name, policyHash);
  if (policyChange) {
    plan.steps.push({
      kind: 'putLifecycle',
      description: `${policyChange} ILM policy ${name} (delete after ${policy.phases.delete?.min_age})`,
      request: { name, policy: { ...policy, _meta: meta(policyHash) } },
    });
  }
  for (const component of specs.componentTemplates) {
    const hash = fingerprint(component.template);
    const change = changed(live.componentTemplates, component.name, hash);
    if (!change) continue;
    plan.steps.push({
      kind: 'putComponentTemplate',
      description: `${change} component template ${component.name}`,
      request: { name: component.name, template: component.template, _meta: meta(hash) },
    });
  }
  for (const template of specs.indexTemplates) {
    // Search indices record which mappings built them, to detect a needed reindex; the hash
    // is part of the template body, so a mapping change rewrites the template too.
    const key = searchKeyOf(template.name);
    const withHash = key
      ? {
          ...template,
          template: {
            ...template.template,
            mappings: { _meta: builtFrom(searchMappings[key]) },
          },
        }
      : template;
    const hash = fingerprint(withHash);
    const change = changed(live.indexTemplates, template.name, hash);
    if (!change) continue;
    plan.steps.push({
      kind: 'putIndexTemplate',
      description: `${change} index template ${template.name} (${template.index_patterns.join(', ')})`,
      request: { ...withHash, _meta: meta(hash) },
    });
  }
  for (const key of Object.keys(SEARCH_INDICES) as SearchIndexKey[]) {
    const alias = SEARCH_INDICES[key];
    const current = live.searchIndices[key];
    if (current.kind === 'missing') {
      // A name an orphan holds would be refused (resource_already_exists_exception): the
      // next free version, and the orphans named for the operator, never deleted unasked.
      const taken = current.orphans.map((name) => versionOf(alias, name) ?? 0);
      const index = versionedIndex(alias, Math.max(0, ...taken) + 1);
      plan.steps.push({
        kind: 'createIndex',
        description: `create index ${index} behind alias ${alias}`,
        request: { index, aliases: { [alias]: { is_write_index: true } } },
      });
      if (current.orphans.length > 0) {
        plan.warnings.push(
          `${current.orphans.join(', ')} ${current.orphans.length === 1 ? 'is' : 'are'} not behind ${alias}: ${index} takes its place (run \`nova reindex ${key}\` to fill it); delete the old one when no longer needed`,
        );
      }
    } else if (current.kind === 'index') {
      plan.warnings.push(
        `${alias} is a concrete index, not an alias: run \`nova reindex ${key}\` to move it behind one`,
      );
    } else {
      const wanted = builtFrom(searchMappings[key]);
      // An index from before analysis_hash was recorded is judged by its mappings alone.
      const stale = current.indices
        .filter(
          (i) =>
            i.mappingHash !== wanted.mapping_hash ||
            (i.analysisHash !== undefined && i.analysisHash !== wanted.analysis_hash),
        )
        .map((i) => i.name);
      if (stale.length > 0) {
        plan.warnings.push(
          `${stale.join(', ')} (behind ${alias}) was built from other mappings or analysis: run \`nova reindex ${key}\``,
        );
      }
    }
  }
  if (live.dataStream === 'index') {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `${dataStream} exists as a concrete index, so it cannot be a data stream; reindex or delete it`,
      { field: dataStream },
    );
  }
  if (live.dataStream === 'missing') {
    plan.steps.push({
      kind: 'createDataStream',
      description: `create data stream ${dataStream}`,
      request: { name: dataStream },
    });
  }
  if (live.dataStream === 'present') {
    planStreamMappings(plan, live, dataStream);
    planStreamReplicas(plan, live, dataStream);
  }
  return plan;
}

/**
 * Templates are not retroactive for settings either: backing indices made before the
 * template sized replicas for the cluster keep the default one replica (a one-node cluster
 * stays yellow). `auto_expand_replicas` is a dynamic setting: set on the stream, it reaches
 * every backing index at once.
 */
function planStreamReplicas(plan: ElasticPlan, live: LiveElastic, dataStream: string) {
  const behind = Object.entries(live.dataStreamReplicas ?? {})
    .filter(([, value]) => value !== AUTO_EXPAND_REPLICAS)
    .map(([index]) => index)
    .sort();
  if (behind.length === 0) return;
  plan.steps.push({
    kind: 'putDataStreamSettings',
    description: `size replicas for the cluster (auto_expand_replicas ${AUTO_EXPAND_REPLICAS}) on ${behind.join(', ')}`,
    request: {
      index: dataStream,
      settings: { index: { auto_expand_replicas: AUTO_EXPAND_REPLICAS } },
    },
  });
}

/** The version of `nova_tickets-v3` behind `nova_tickets`: 3 (undefined for other names). */
function versionOf(alias: string, index: string): number | undefined {
  const match = new RegExp(`^${alias}-v(\\d+)$`).exec(index);
  return match ? Number(match[1]) : undefined;
}

/** A backing index's generation: `.ds-nova_logs-2026.11.30-000007` is 7. */
const generation = (index: string) => Number(/-(\d+)$/.exec(index)?.[1] ?? 0);

/**
 * Templates are not retroactive: a data stream's backing indices keep the mappings they were
 * made with, and with `dynamic: false` a field the template gained since is stored but not
 * indexed. New fields are added through the stream's put-mapping (additive): into every
 * backing index, so history becomes searchable by them too, or the write index alone when an
 * older one maps a field differently (another type, or a parameter that cannot change, which
 * put-mapping would refuse). A field mapped differently in the write index cannot be fixed in
 * place at all: the stream rolls over onto a new write index made from the current template;
 * the older ones age out under ILM.
 */
function planStreamMappings(plan: ElasticPlan, live: LiveElastic, dataStream: string) {
  const spec = LOGS_MAPPINGS.properties ?? {};
  const backing = Object.entries(live.dataStreamMappings ?? {})
    .sort(([a], [b]) => generation(a) - generation(b))
    .map(([, mappings]) => mappingGaps(spec, mappings.properties));
  const write = backing.at(-1);
  if (!write) return;
  if (write.conflicting.length > 0) {
    plan.steps.push({
      kind: 'rolloverDataStream',
      description: `roll ${dataStream} over onto the current mappings (${write.conflicting.join(', ')} mapped otherwise)`,
      request: { alias: dataStream },
    });
    return;
  }
  const writeOnly = backing.some((gaps) => gaps.conflicting.length > 0);
  const missing = [...new Set((writeOnly ? [write] : backing).flatMap((g) => g.missing))];
  if (missing.length === 0) return;
  plan.steps.push({
    kind: 'putDataStreamMapping',
    description: `add ${missing.join(', ')} to ${writeOnly ? `${dataStream}'s write index` : `${dataStream}'s backing indices`}`,
    request: {
      index: dataStream,
      // The missing fields alone: a field sent again must repeat every parameter it was
      // mapped with, or the merge reads the omission as a change (MapperService.merge).
      properties: pickFields(spec, missing),
      ...(writeOnly ? { write_index_only: true } : {}),
    },
  });
}

function searchKeyOf(templateName: string): SearchIndexKey | undefined {
  return (Object.keys(SEARCH_INDICES) as SearchIndexKey[]).find(
    (key) => SEARCH_INDICES[key] === templateName,
  );
}
