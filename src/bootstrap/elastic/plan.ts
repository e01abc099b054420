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
  type ElasticSpecs,
  SEARCH_INDICES,
  type SearchIndexKey,
  versionedIndex,
} from '../../lib/db/elastic/index-specs.js';
import { NovaError } from '../../lib/errors.js';
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
  | SecurityStep;

export interface ElasticPlan {
  steps: ElasticStep[];
  warnings: string[];
}

/** What a search alias resolves to today. */
export type LiveSearchIndex =
  | { kind: 'missing' }
  /** A concrete index carries the alias's name: it must be moved behind an alias. */
  | { kind: 'index' }
  | { kind: 'alias'; indices: { name: string; mappingHash: string | undefined }[] };

export interface LiveElastic {
  /** spec_hash of each managed object found, by name (undefined: exists, not ours). */
  lifecycle: Map<string, string | undefined>;
  componentTemplates: Map<string, string | undefined>;
  indexTemplates: Map<string, string | undefined>;
  searchIndices: Record<SearchIndexKey, LiveSearchIndex>;
  dataStream: 'present' | 'missing' | 'index';
}

const meta = (hash: string) => ({ managed_by: MANAGED_BY, spec_hash: hash });

/** The spec hash of a search index's mappings, stored in the mapping's _meta. */
export const mappingHash = (mappings: estypes.MappingTypeMapping) => fingerprint(mappings);

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
            mappings: { _meta: { mapping_hash: mappingHash(searchMappings[key]) } },
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
      const index = versionedIndex(alias, 1);
      plan.steps.push({
        kind: 'createIndex',
        description: `create index ${index} behind alias ${alias}`,
        request: { index, aliases: { [alias]: { is_write_index: true } } },
      });
    } else if (current.kind === 'index') {
      plan.warnings.push(
        `${alias} is a concrete index, not an alias: run \`nova reindex ${key}\` to move it behind one`,
      );
    } else {
      const wanted = mappingHash(searchMappings[key]);
      const stale = current.indices.filter((i) => i.mappingHash !== wanted).map((i) => i.name);
      if (stale.length > 0) {
        plan.warnings.push(
          `${stale.join(', ')} (behind ${alias}) was built from other mappings: run \`nova reindex ${key}\``,
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
  return plan;
}

function searchKeyOf(templateName: string): SearchIndexKey | undefined {
  return (Object.keys(SEARCH_INDICES) as SearchIndexKey[]).find(
    (key) => SEARCH_INDICES[key] === templateName,
  );
}
