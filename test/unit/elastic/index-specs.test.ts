import { describe, expect, it } from 'vitest';
import {
  ANALYSIS,
  elasticSpecs,
  LOGS_MAPPINGS,
  SEARCH_INDICES,
  TEMPLATE_PRIORITY,
} from '../../../src/lib/db/elastic/index-specs.js';
import { defaultRetentionMs } from '../../../src/lib/telemetry/collections.js';
import { componentTemplateRefusal, indexTemplateRefusal } from '../../support/elastic-rules.js';

const specs = elasticSpecs({ embeddingDims: 1536, retentionMs: defaultRetentionMs() });

/** Every [path, value] of an object tree. */
function* walk(value: unknown, path: string[] = []): Generator<[string[], unknown]> {
  yield [path, value];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* walk(v, [...path, k]);
  }
}

describe('Elasticsearch specs', () => {
  it('never uses field-level boost (rejected by Elasticsearch 8)', () => {
    for (const component of specs.componentTemplates) {
      for (const [path] of walk(component.template)) expect(path.at(-1)).not.toBe('boost');
    }
  });

  it('defines every analyzer and normalizer a mapping uses in that same component (validated alone)', () => {
    for (const component of specs.componentTemplates) {
      expect(componentTemplateRefusal(component as never), component.name).toBeUndefined();
    }
    const components = new Map(specs.componentTemplates.map((c) => [c.name, c as never]));
    for (const template of specs.indexTemplates) {
      expect(indexTemplateRefusal(template.name, template as never, components)).toBeUndefined();
    }
    for (const filter of ANALYSIS.analyzer?.nova_text && 'filter' in ANALYSIS.analyzer.nova_text
      ? (ANALYSIS.analyzer.nova_text.filter as string[])
      : []) {
      expect(['lowercase', 'asciifolding', ...Object.keys(ANALYSIS.filter ?? {})]).toContain(
        filter,
      );
    }
  });

  it('uses patterns and priorities that cannot collide with the built-in logs-*-* and metrics-*-* templates', () => {
    const builtIns = [
      'logs-app-default',
      'metrics-system-default',
      'logs-nova-x',
      'synthetics-a-b',
    ];
    for (const template of specs.indexTemplates) {
      expect(template.priority).toBe(TEMPLATE_PRIORITY);
      expect(template.priority).toBeGreaterThan(500);
      for (const pattern of template.index_patterns) {
        const re = new RegExp(`^${pattern.replaceAll('*', '.*')}$`);
        for (const name of builtIns) expect(re.test(name), `${pattern} ~ ${name}`).toBe(false);
      }
    }
  });

  it('puts search indices behind versioned patterns and logs in a data stream with @timestamp and ILM', () => {
    for (const alias of Object.values(SEARCH_INDICES)) {
      const template = specs.indexTemplates.find((t) => t.name === alias);
      expect(template?.index_patterns).toEqual([`${alias}-*`]);
      expect(template?.data_stream).toBeUndefined();
    }
    const logs = specs.indexTemplates.find((t) => t.name === 'nova_logs');
    expect(logs?.data_stream).toEqual({});
    expect(LOGS_MAPPINGS.properties?.['@timestamp']).toEqual({ type: 'date' });
    const settings = specs.componentTemplates.find((c) => c.name === 'nova-logs-settings');
    expect(settings?.template.settings).toEqual({
      index: { lifecycle: { name: 'nova_logs' }, auto_expand_replicas: '0-1' },
    });
  });

  it('suggests by ticket key and by numbers in titles: the completion analyzer keeps digits', () => {
    // Lucene's built-in analyzers, as far as these inputs go: `simple` is LetterTokenizer +
    // lowercase (non-letters split and vanish), `standard` splits words on UAX#29 boundaries
    // and keeps digits (StandardTokenizer) + lowercase.
    const analyzers: Record<string, (text: string) => string[]> = {
      simple: (text) =>
        text
          .toLowerCase()
          .split(/[^a-z]+/)
          .filter(Boolean),
      standard: (text) =>
        text
          .toLowerCase()
          .split(/[^a-z0-9]+/)
          .filter(Boolean),
    };
    const tickets = specs.componentTemplates.find((c) => c.name === 'nova-tickets-mappings');
    const suggest = tickets?.template.mappings?.properties?.suggest as { analyzer: string };
    const analyze = analyzers[suggest.analyzer];
    expect(analyze, `a model of ${suggest.analyzer}`).toBeDefined();
    expect(analyze?.('T-000123')).toContain('000123');
    expect(analyze?.('Error 809 on login')).toContain('809');
  });

  it('has a completion field on ticket and article titles and a cosine dense_vector of the configured size', () => {
    const tickets = specs.componentTemplates.find((c) => c.name === 'nova-tickets-mappings');
    const kb = specs.componentTemplates.find((c) => c.name === 'nova-kb-mappings');
    expect(tickets?.template.mappings?.properties?.suggest).toMatchObject({ type: 'completion' });
    expect(kb?.template.mappings?.properties?.suggest).toMatchObject({ type: 'completion' });
    const ai = elasticSpecs({
      embeddingDims: 384,
      retentionMs: defaultRetentionMs(),
    }).componentTemplates.find((c) => c.name === 'nova-ai-context-mappings');
    expect(ai?.template.mappings?.properties?.embedding).toEqual({
      type: 'dense_vector',
      dims: 384,
      index: true,
      similarity: 'cosine',
    });
  });

  it('sorts priority by severity through a numeric rank, and keeps ticket mappings strict', () => {
    const tickets = specs.componentTemplates.find((c) => c.name === 'nova-tickets-mappings');
    expect(tickets?.template.mappings?.dynamic).toBe('strict');
    expect(tickets?.template.mappings?.properties?.priority_rank).toEqual({ type: 'byte' });
  });

  it('deletes log data after the longest MongoDB retention, rolling over daily or at 50gb', () => {
    expect(specs.lifecycle.policy.phases.delete?.min_age).toBe('90d');
    const short = elasticSpecs({
      embeddingDims: 8,
      retentionMs: Object.fromEntries(
        Object.keys(defaultRetentionMs()).map((k) => [k, 7 * 86_400_000]),
      ) as never,
    });
    expect(short.lifecycle.policy.phases.delete?.min_age).toBe('7d');
    expect(specs.lifecycle.policy.phases.hot?.actions?.rollover).toEqual({
      max_primary_shard_size: '50gb',
      max_age: '1d',
    });
  });
});
